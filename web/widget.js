/*
 * Brightbay chat widget: talks to Rasa's socket.io channel (bot.channels.socketio).
 *
 *   <script src="socket.io.min.js"></script>
 *   <script src="widget.js" data-server="https://assistant.example" data-open="true"></script>
 *
 * - Session: the session id Rasa confirms is kept in localStorage ("brightbay.session_id") and
 *   sent with `session_request` on every page load, so the conversation continues after a reload;
 *   the messages so far are fetched from GET /webhooks/socketio/history/<session_id>.
 * - Dropped connections: each message carries a `message_id` and stays pending until the server
 *   acknowledges it (after its turn); pending messages are (re)sent once the socket is back, and
 *   the server runs an id only once. After a reconnect the log is rebuilt from the history, so
 *   replies sent while the socket was down (a live agent's, say) are not lost. A message the server
 *   could not handle (its ack carries an error) is marked "retrying" and sent again with backoff.
 * - A new or empty conversation opens with a greeting and three questions to click (widget-side only).
 * - Typing indicator from sending until the first reply (or 30 s).
 * - Quick replies (`quick_replies` / `buttons`): the payload is sent as the message, the title shown.
 * - Links (http/https URLs and [text](url)) are clickable and open in a new tab.
 * - Handoff: a bot message with custom {"handoff": "started", "agent"?: "..."} shows
 *   "You are now chatting with a support agent" and labels the following bot messages as the
 *   agent's; {"handoff": "ended"} returns to the assistant.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var server = (script && script.getAttribute("data-server")) || window.location.origin;
  var startOpen = script && script.getAttribute("data-open") === "true";
  var STORAGE_KEY = "brightbay.session_id";
  var TYPING_TIMEOUT_MS = 30000;
  var RETRY_MAX_MS = 30000;
  var HANDOFF_TEXT = "You are now chatting with a support agent";
  // Shown in an empty conversation only, by the widget (it is not a message of the conversation).
  var WELCOME_TEXT = "Hi! I'm Brightbay's virtual assistant, a bot. I can track an order, cancel it, start or " +
    "check a refund, and answer questions about shipping, returns and payments. You can ask for a person at any time.";
  var SUGGESTIONS = [
    { title: "Where is my order?", payload: "Where is my order?" },
    { title: "Return policy", payload: "What's your return policy?" },
    { title: "Shipping times", payload: "How long does shipping take?" }
  ];

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Text with clickable links, built from DOM nodes (never innerHTML with message text).
  var LINK = /\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)|(https?:\/\/[^\s<>"')]+[^\s<>"').,;:!?])/g;
  function appendRichText(parent, text) {
    var last = 0, match;
    LINK.lastIndex = 0;
    while ((match = LINK.exec(text)) !== null) {
      if (match.index > last) parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var href = match[2] || match[3];
      var a = el("a", "bb-link", match[1] || match[3]);
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      parent.appendChild(a);
      last = LINK.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // ---- DOM
  var launcher = el("button", "bb-launcher", "Chat with us");
  launcher.type = "button";
  launcher.setAttribute("aria-controls", "bb-panel");
  var panel = el("section", "bb-panel");
  panel.id = "bb-panel";
  panel.setAttribute("aria-label", "Brightbay support chat");
  var head = el("div", "bb-head");
  var title = el("span", "bb-title", "Brightbay support");
  var status = el("span", "bb-status", "connecting…");
  head.appendChild(title);
  head.appendChild(status);
  var banner = el("div", "bb-handoff-banner", HANDOFF_TEXT);
  banner.setAttribute("role", "status");
  var log = el("div", "bb-log");
  log.setAttribute("aria-live", "polite");
  var typing = el("div", "bb-typing");
  typing.setAttribute("aria-label", "Brightbay is typing");
  typing.appendChild(el("span"));
  typing.appendChild(el("span"));
  typing.appendChild(el("span"));
  var form = el("form", "bb-form");
  var input = el("input", "bb-input");
  input.type = "text";
  input.placeholder = "Type your message…";
  input.setAttribute("aria-label", "Message");
  input.autocomplete = "off";
  var send = el("button", "bb-send", "Send");
  send.type = "submit";
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(head);
  panel.appendChild(banner);
  panel.appendChild(log);
  panel.appendChild(form);
  log.appendChild(typing);

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(launcher);
    if (startOpen) panel.classList.add("bb-open");
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  launcher.addEventListener("click", function () {
    panel.classList.toggle("bb-open");
    if (panel.classList.contains("bb-open")) input.focus();
  });

  // ---- state
  var sessionId = null;
  var handoff = { active: false, agent: null };
  var historyLoaded = false;
  var typingTimer = null;
  var sessionReady = false; // session_confirm received on the current connection
  var pending = []; // {data, shown} of messages not yet acknowledged by the server, oldest first
  var liveMessages = null; // bot messages received while a reconnect's history is being fetched

  function scrollDown() { log.scrollTop = log.scrollHeight; }
  function append(node) { log.insertBefore(node, typing); scrollDown(); }

  function showTyping(on) {
    clearTimeout(typingTimer);
    typing.classList.toggle("bb-visible", on);
    if (on) typingTimer = setTimeout(function () { showTyping(false); }, TYPING_TIMEOUT_MS);
    scrollDown();
  }

  function setHandoff(state, agent, announce) {
    var active = state === "started";
    handoff = { active: active, agent: active ? agent || null : null };
    panel.classList.toggle("bb-handoff", active);
    banner.textContent = active && agent ? HANDOFF_TEXT + " (" + agent + ")" : HANDOFF_TEXT;
    title.textContent = active ? "Brightbay support agent" : "Brightbay support";
    if (announce) {
      append(el("div", "bb-note", active ? HANDOFF_TEXT + "." : "The support agent has left. You're chatting with the Brightbay assistant again."));
    }
  }

  function renderUser(text, messageId) {
    var bubble = el("div", "bb-msg bb-user");
    if (messageId) bubble.setAttribute("data-message-id", messageId);
    appendRichText(bubble, text);
    append(bubble);
  }

  function renderReplies(buttons) {
    var group = el("div", "bb-replies");
    buttons.forEach(function (button) {
      var b = el("button", "bb-reply", button.title || button.payload);
      b.type = "button";
      b.setAttribute("data-payload", button.payload || button.title || "");
      b.addEventListener("click", function () {
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (x) { x.disabled = true; });
        sendMessage(button.payload || button.title, button.title);
      });
      group.appendChild(b);
    });
    append(group);
  }

  // One bot message as Rasa's socket.io output sends it (or as the history endpoint returns it).
  function renderBot(message, fromHistory) {
    var custom = message.custom;
    if (custom && (custom.handoff === "started" || custom.handoff === "ended")) {
      setHandoff(custom.handoff, custom.agent, true);
    }
    var asAgent = handoff.active || message.agent === true;
    if (message.text) {
      var bubble = el("div", "bb-msg " + (asAgent ? "bb-agent" : "bb-bot"));
      if (asAgent) bubble.appendChild(el("span", "bb-agent-name", handoff.agent || "Support agent"));
      appendRichText(bubble, message.text);
      append(bubble);
    }
    if (message.attachment && message.attachment.payload && message.attachment.payload.src) {
      var image = el("div", "bb-msg bb-bot");
      appendRichText(image, message.attachment.payload.src);
      append(image);
    }
    var buttons = message.quick_replies || message.buttons;
    if (buttons && buttons.length) renderReplies(buttons);
  }

  // A new or empty conversation opens with a greeting and a few questions to click.
  function showWelcome() {
    if (log.querySelector(".bb-msg, .bb-note")) return;
    var bubble = el("div", "bb-msg bb-welcome");
    appendRichText(bubble, WELCOME_TEXT);
    append(bubble);
    renderReplies(SUGGESTIONS);
  }

  // ---- socket
  var socket = io(server, { path: "/socket.io", transports: ["websocket", "polling"] });

  socket.on("connect", function () {
    status.textContent = "online";
    socket.emit("session_request", { session_id: localStorage.getItem(STORAGE_KEY) });
  });
  socket.on("disconnect", function () {
    sessionReady = false;
    status.textContent = "reconnecting…";
    pending.forEach(function (entry) { markPending(entry.data.message_id, true); });
  });

  function messageId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // Sends a pending message; it stays pending until the server's acknowledgement (the turn is done).
  // An acknowledgement with an error (the server could not handle it: a database restarting, say)
  // keeps it pending, marks it "retrying" and sends it again after the server's delay, doubling
  // each time up to RETRY_MAX_MS; the server runs each message id once, so a retry never doubles it.
  function transmit(entry) {
    clearTimeout(entry.retryTimer);
    socket.emit("user_uttered", entry.data, function (ack) {
      if (pending.indexOf(entry) < 0) return;
      if (ack && ack.error) {
        entry.failures = (entry.failures || 0) + 1;
        var delay = Math.min(RETRY_MAX_MS, (ack.retry_after_s || 3) * 1000 * Math.pow(2, entry.failures - 1));
        markPending(entry.data.message_id, true);
        markRetrying(entry.data.message_id, true);
        entry.retryTimer = setTimeout(function () {
          if (pending.indexOf(entry) >= 0 && socket.connected && sessionReady) transmit(entry);
        }, delay);
        return;
      }
      pending.splice(pending.indexOf(entry), 1);
      markPending(entry.data.message_id, false);
      markRetrying(entry.data.message_id, false);
    });
  }

  function markRetrying(id, on) {
    var bubble = log.querySelector('.bb-user[data-message-id="' + id + '"]');
    if (bubble) bubble.classList.toggle("bb-retrying", on);
  }

  // The bubble of a message the server has not confirmed yet is marked "sending…".
  function markPending(id, on) {
    var bubble = log.querySelector('.bb-user[data-message-id="' + id + '"]');
    if (bubble) bubble.classList.toggle("bb-pending", on);
  }

  function clearLog() {
    Array.prototype.slice.call(log.children).forEach(function (node) { if (node !== typing) log.removeChild(node); });
  }

  // Renders the history; `rebuild` replaces the log (after a reconnect) and keeps what the
  // history does not hold yet: pending messages and bot messages that arrived during the fetch.
  function showHistory(history, rebuild) {
    var messages = history.messages || [];
    if (rebuild) {
      clearLog();
      handoff = { active: false, agent: null };
    }
    var stored = {};
    messages.forEach(function (m) {
      if (m.sender === "user") { renderUser(m.text, m.id); if (m.id) stored[m.id] = true; } else renderBot(m, true);
    });
    // The state at the end of the history wins (announcements above were replays).
    setHandoff(history.handoff === "started" ? "started" : "ended", history.agent, false);
    if (rebuild) {
      pending.forEach(function (entry) {
        if (!stored[entry.data.message_id]) renderUser(entry.shown, entry.data.message_id);
        markPending(entry.data.message_id, true);
      });
      var tail = messages.slice(-20).map(function (m) { return JSON.stringify([m.text || "", m.custom || null]); });
      (liveMessages || []).forEach(function (m) {
        if (tail.indexOf(JSON.stringify([m.text || "", m.custom || null])) < 0) renderBot(m, false);
      });
    }
    liveMessages = null;
    showWelcome();
    // Only the last message's quick replies stay clickable.
    var groups = log.querySelectorAll(".bb-replies");
    for (var i = 0; i < groups.length - 1; i++) {
      Array.prototype.forEach.call(groups[i].querySelectorAll("button"), function (x) { x.disabled = true; });
    }
  }

  function loadHistory(id, rebuild) {
    if (rebuild) liveMessages = [];
    return fetch(server + "/webhooks/socketio/history/" + encodeURIComponent(id), { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
      .then(function (history) {
        showHistory(history, rebuild);
        panel.setAttribute("data-history", "loaded");
      })
      .catch(function () {
        if (rebuild && liveMessages) liveMessages.forEach(function (m) { renderBot(m, false); });
        liveMessages = null;
        panel.setAttribute("data-history", "failed");
      });
  }

  socket.on("session_confirm", function (confirmed) {
    var id = typeof confirmed === "string" ? confirmed : confirmed && confirmed.session_id;
    var stored = localStorage.getItem(STORAGE_KEY);
    var reconnect = historyLoaded && id === sessionId;
    sessionId = id;
    sessionReady = true;
    localStorage.setItem(STORAGE_KEY, id);
    panel.setAttribute("data-session-id", id);
    // Messages typed while offline, or sent but never acknowledged: (re)send them, in order.
    pending.forEach(function (entry) { entry.data.session_id = id; transmit(entry); });
    if (reconnect) {
      // Replies sent while the socket was down are only in the history: rebuild the log from it.
      panel.setAttribute("data-history", "reloading");
      loadHistory(id, true);
      return;
    }
    if (historyLoaded) return;
    historyLoaded = true;
    if (stored !== id) { panel.setAttribute("data-history", "new"); showWelcome(); return; }
    loadHistory(id, false);
  });

  socket.on("bot_uttered", function (message) {
    showTyping(false);
    if (liveMessages) liveMessages.push(message || {});
    renderBot(message || {}, false);
  });

  function sendMessage(text, shown) {
    if (!sessionId || !text) return;
    var entry = { data: { message: text, session_id: sessionId, message_id: messageId() }, shown: shown || text };
    renderUser(entry.shown, entry.data.message_id);
    if (shown && shown !== text) entry.data.metadata = { display_text: shown };
    pending.push(entry);
    if (socket.connected && sessionReady) transmit(entry);
    else markPending(entry.data.message_id, true);
    showTyping(true);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendMessage(text);
  });

  window.BrightbayChat = {
    send: sendMessage,
    sessionId: function () { return sessionId; },
    pending: function () { return pending.length; },
    reset: function () { localStorage.removeItem(STORAGE_KEY); }
  };
})();
