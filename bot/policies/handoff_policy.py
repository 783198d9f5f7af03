"""HandoffPolicy: predicts ``action_handoff`` when a conversation should go to a person.

It has nothing to learn: every decision comes from ``bot.handoff.decision.evaluate``
over the tracker, the same function ``action_handoff`` runs to record why. When it
fires it predicts with confidence 1.0 and a priority above RulePolicy's, so it wins over
the rule, memoization and TED policies; otherwise it predicts nothing (all zeros).
The reasons, evidence and priority travel in the prediction's ``action_metadata``,
which Rasa stores on the ``action_handoff`` ActionExecuted event.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Text, Tuple

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from bot.handoff.decision import (
    DEFAULTS,
    HANDOFF_ACTION,
    Decision,
    HandoffConfigError,
    OrderFacts,
    OrderLookup,
    evaluate,
    validate_config,
)
from bot.policies.untrained import UntrainedPolicy

logger = logging.getLogger(__name__)

# RulePolicy has 4 (MemoizationPolicy 3, TEDPolicy 1), FollowUpPolicy 5: on equal confidence we win.
HANDOFF_POLICY_PRIORITY = 6


def database_order_lookup() -> OrderLookup:
    """Looks the verified order up with OrderService.verify (identity re-checked), cached."""
    from bot.orders import OrderService  # imported lazily: the database is only needed at run time

    service = OrderService()
    cache: Dict[Tuple[int, str], Optional[OrderFacts]] = {}

    def lookup(order_id: int, identity: str) -> Optional[OrderFacts]:
        key = (order_id, identity)
        if key not in cache:
            try:
                order = service.verify(order_id, identity)
            except Exception:  # the database is down: decide without the order
                logger.exception("handoff policy could not look up order %s", order_id)
                return None
            cache[key] = (
                OrderFacts(order.order_id, order.total, order.customer_tier) if order is not None else None
            )
            if len(cache) > 1024:
                cache.pop(next(iter(cache)))
        return cache[key]

    return lookup


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class HandoffPolicy(UntrainedPolicy):
    """Hands angry, repeated, high-value, sensitive or explicit requests to a person."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Every threshold with its meaning is documented in bot/handoff/decision.py DEFAULTS;
        # the comments here name each key's role.
        return {
            # wins over FollowUpPolicy (5), RulePolicy (4), MemoizationPolicy (3) and TEDPolicy (1) when it fires.
            "priority": HANDOFF_POLICY_PRIORITY,
            # anger: one message at or below this sentiment score hands off.
            "anger_score_threshold": DEFAULTS["anger_score_threshold"],
            # anger: hand off on the message's anger flag...
            "use_anger_flag": DEFAULTS["use_anger_flag"],
            # ...when its score is at or below this.
            "anger_flag_max_score": DEFAULTS["anger_flag_max_score"],
            # anger (rising): number of latest customer messages looked at.
            "trend_window": DEFAULTS["trend_window"],
            # anger (rising): their mean sentiment at or below this...
            "trend_mean_threshold": DEFAULTS["trend_mean_threshold"],
            # ...and the latest this much lower than the first.
            "trend_min_drop": DEFAULTS["trend_min_drop"],
            # repeated: consecutive not-understood messages that hand off.
            "max_consecutive_fallbacks": DEFAULTS["max_consecutive_fallbacks"],
            # repeated: intents counted as not understood whatever their confidence.
            "not_understood_intents": list(DEFAULTS["not_understood_intents"]),
            # repeated: intent confidence below this = not understood.
            "low_confidence_threshold": DEFAULTS["low_confidence_threshold"],
            # repeated: times the same request (intent + order) may be asked before handing off.
            "max_same_request": DEFAULTS["max_same_request"],
            # repeated: without an order number, how alike (embedding cosine) same-intent messages must be to count.
            "same_request_min_similarity": DEFAULTS["same_request_min_similarity"],
            # repeated: answer and small-talk intents never counted as the same request.
            "repeat_ignored_intents": list(DEFAULTS["repeat_ignored_intents"]),
            # repeated: "that didn't help" phrasings (regular expressions).
            "not_helped_patterns": list(DEFAULTS["not_helped_patterns"]),
            # high_value: verified order total (USD) above which a conversation is high value.
            "high_value_amount": DEFAULTS["high_value_amount"],
            # high_value: customer tiers that are always high value.
            "vip_tiers": list(DEFAULTS["vip_tiers"]),
            # high_value: hand off right after these actions on a high-value order.
            "high_value_after_actions": list(DEFAULTS["high_value_after_actions"]),
            # high_value: intents that hand a high-value order off at once.
            "high_value_intents": list(DEFAULTS["high_value_intents"]),
            # ...with at least this intent confidence.
            "high_value_intent_min_confidence": DEFAULTS["high_value_intent_min_confidence"],
            # ...unless the message matches one of these questions the assistant answers ("can i get it faster").
            "high_value_question_patterns": list(DEFAULTS["high_value_question_patterns"]),
            # explicit_request: the "I want a person" intent...
            "human_intent": DEFAULTS["human_intent"],
            # ...and its minimum confidence.
            "human_intent_min_confidence": DEFAULTS["human_intent_min_confidence"],
            # explicit_request: phrasings asking for a person when the intent was missed.
            "human_request_patterns": list(DEFAULTS["human_request_patterns"]),
            # explicit_request: a yes worded as one of these accepts something else ("ok i'll take it": buying).
            "not_a_yes_to_the_offer_patterns": list(DEFAULTS["not_a_yes_to_the_offer_patterns"]),
            # explicit_request: a yes right after one of these actions accepts their offer of a person
            # (so does a yes right after a message with a /<human_intent> button).
            "agent_offer_actions": list(DEFAULTS["agent_offer_actions"]),
            # sensitive: legal / privacy / security phrasings by category.
            "sensitive_patterns": {k: list(v) for k, v in DEFAULTS["sensitive_patterns"].items()},
            # priority (1-3) of each reason code in the agents' queue.
            "reason_priority": dict(DEFAULTS["reason_priority"]),
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
        order_lookup: Optional[OrderLookup] = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        try:
            self.decision_config = validate_config(config)
        except HandoffConfigError as exc:
            raise InvalidConfigException(str(exc)) from None
        self._order_lookup = order_lookup

    def _lookup(self) -> OrderLookup:
        if self._order_lookup is None:
            self._order_lookup = database_order_lookup()
        return self._order_lookup

    def decide(self, tracker: DialogueStateTracker) -> Decision:
        """The decision for the tracker as it is now (also used by tests and tools)."""
        events = [event.as_dict() for event in tracker.events]
        slots = {name: slot.value for name, slot in tracker.slots.items()}
        return evaluate(events, slots, self.decision_config, self._lookup())

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if tracker.is_paused() or HANDOFF_ACTION not in domain.action_names_or_texts:
            return self._prediction(probabilities)
        if tracker.latest_action_name == HANDOFF_ACTION:
            # Normally the conversation is paused by now; if the handoff could not be made
            # (its action told the customer how else to reach a person), wait for the customer.
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            return self._prediction(probabilities, is_no_user_prediction=True)
        decision = self.decide(tracker)
        if not decision.handoff:
            return self._prediction(probabilities)
        logger.info("handoff of %s: %s", tracker.sender_id, decision.as_metadata())
        probabilities[domain.index_for_action(HANDOFF_ACTION)] = 1.0
        return self._prediction(
            probabilities,
            # After a bot action RulePolicy predicts action_listen as a "no user" prediction,
            # which would overrule us; mark ours the same way so priority decides.
            is_no_user_prediction=decision.trigger == "after_action",
            action_metadata=decision.as_metadata(),
        )

    @classmethod
    def _metadata_filename(cls) -> Optional[Text]:
        return "handoff_policy"
