/*
 * 96319 web chat widget (hand-written, no dependencies, no build step).
 *
 * Embed with one tag:  <script src="https://GATEWAY/chat/widget.js" async></script>
 *
 * The widget lives in a shadow root (the host page's CSS cannot break it, and its
 * CSS cannot leak out) and talks only to the gateway that served this file.
 * Everything the assistant says is put on the page with textContent, never as
 * HTML; links appear only where a reply marks them, and only https:/tel: ones.
 * The query password goes from its masked field straight to the gateway's
 * verification endpoint and is cleared from the field at once.
 */
(function () {
  'use strict';

  if (window.__hotline96319Chat) { return; }
  window.__hotline96319Chat = true;

  var T = {
    launcher: '在线客服',
    launcherLabel: '打开96319在线客服',
    title: '96319 在线客服',
    subtitle: '成都住房公积金管理中心 · 智能客服',
    minimize: '收起对话窗口',
    end: '结束对话',
    endLabel: '结束对话并评价',
    logLabel: '对话记录',
    quickLabel: '可选的回复',
    you: '您说：',
    bot: '智能客服：',
    notice: '提示：',
    typing: '智能客服正在输入',
    inputLabel: '输入您的问题',
    placeholder: '请输入您的问题',
    inputHint: '按回车发送，按Shift加回车换行',
    send: '发送',
    menu: '业务菜单',
    menuLabel: '显示业务菜单',
    counter: '已输入{n}/{max}字',
    tooLong: '消息太长了：每条最多{max}个字，请删减后再发送。',
    empty: '请先输入您想咨询的问题。',
    network: '网络连接出现问题，消息没有送达。请检查网络后重试；急事请拨打96319热线。',
    call: '拨打96319',
    notDelivered: '未送达',
    restarted: '之前的对话已过期，已为您开始新的对话。',
    secureTitle: '身份验证',
    secureHint: '查询个人账户前需要验证身份。查询密码只用于本次验证，不会显示在对话记录中。',
    identLabel: '身份证号、公积金个人账号或联名卡号',
    passwordLabel: '6位查询密码',
    verify: '验证',
    verifying: '正在验证…',
    cancel: '取消',
    cancelled: '已取消身份验证。需要查询个人账户时，可以再次点选“账户余额查询”。',
    identMissing: '请输入证件号码或账号。',
    passwordBad: '查询密码是6位数字。',
    handoverInHours: '已转人工客服',
    handoverAfterHours: '现在不是人工服务时间',
    handoverBackendError: '智能客服暂时出现故障',
    hoursPrefix: '人工服务时间：',
    callbackTitle: '留下电话，客服人员给您回电',
    phoneLabel: '手机号码或座机号码',
    callbackSubmit: '登记回电',
    callbackDone: '已登记回电',
    ticket: '投诉单号',
    copy: '复制',
    copied: '已复制'
  };
  var HOTLINE = 'tel:96319';
  var TIMEOUT_MS = 20000;
  var STORE = 'hotline96319.chat';

  var script = document.currentScript ||
    (function () {
      var all = document.querySelectorAll('script[src*="/chat/widget.js"]');
      return all[all.length - 1];
    })();
  var scriptUrl = new URL(script.src, document.baseURI);
  var base = scriptUrl.origin + scriptUrl.pathname.replace(/\/chat\/widget\.js$/, '');
  var api = base + '/chat/api/';

  // ------------------------------------------------------------------ DOM helpers

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    var name;
    for (name in (attrs || {})) {
      if (Object.prototype.hasOwnProperty.call(attrs, name)) {
        if (name === 'text') { node.textContent = attrs[name]; }
        else if (name === 'hidden') { node.hidden = !!attrs[name]; }
        else { node.setAttribute(name, attrs[name]); }
      }
    }
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return String(values[key]); });
  }

  function safeUrl(raw) {
    try {
      var url = new URL(raw);
      if (url.protocol === 'https:' || url.protocol === 'tel:') { return url.href; }
    } catch (e) { /* not a URL */ }
    return null;
  }

  function remember(values) {
    try {
      var current = JSON.parse(sessionStorage.getItem(STORE) || '{}');
      Object.keys(values).forEach(function (k) { current[k] = values[k]; });
      sessionStorage.setItem(STORE, JSON.stringify(current));
    } catch (e) { /* storage may be off: the widget still works */ }
  }

  function recall() {
    try { return JSON.parse(sessionStorage.getItem(STORE) || '{}'); } catch (e) { return {}; }
  }

  // ------------------------------------------------------------------ build the widget

  var host = el('div', { id: 'hotline96319-chat', 'data-hotline96319': 'chat' });
  host.hidden = true;  // until the style sheet is there
  var root = host.attachShadow({ mode: 'open' });
  var sheet = el('link', { rel: 'stylesheet', href: base + '/chat/widget.css' });
  sheet.addEventListener('load', function () { host.hidden = false; });
  sheet.addEventListener('error', function () { host.hidden = false; });
  root.appendChild(sheet);

  var launcher = el('button', {
    type: 'button', 'class': 'launcher', 'aria-label': T.launcherLabel,
    'aria-expanded': 'false', 'aria-controls': 'chat-panel'
  }, [el('span', { 'class': 'launcher-icon', 'aria-hidden': 'true' }), el('span', { text: T.launcher })]);

  var log = el('ol', {
    'class': 'log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions',
    'aria-label': T.logLabel, tabindex: '0'
  });
  var typing = el('div', { 'class': 'typing', role: 'status', hidden: true }, [
    el('span', { 'class': 'dots', 'aria-hidden': 'true' }, [el('i'), el('i'), el('i')]),
    el('span', { text: T.typing })
  ]);
  var quick = el('div', { 'class': 'quick', role: 'group', 'aria-label': T.quickLabel });

  var banner = el('div', { 'class': 'banner', role: 'status', 'aria-live': 'polite', hidden: true });

  // Secure step form: masked password, posted to the gateway only.
  var identInput = el('input', {
    id: 'secure-identifier', name: 'identifier', type: 'text', autocomplete: 'off',
    maxlength: '40', spellcheck: 'false', 'aria-describedby': 'secure-identifier-error'
  });
  var identError = el('p', { id: 'secure-identifier-error', 'class': 'field-error', 'aria-live': 'assertive' });
  var passwordInput = el('input', {
    id: 'secure-password', name: 'password', type: 'password', autocomplete: 'off',
    inputmode: 'numeric', maxlength: '6', 'aria-describedby': 'secure-password-error'
  });
  var passwordError = el('p', { id: 'secure-password-error', 'class': 'field-error', 'aria-live': 'assertive' });
  var verifyButton = el('button', { type: 'submit', 'class': 'primary', text: T.verify });
  var cancelButton = el('button', { type: 'button', 'class': 'secondary', text: T.cancel });
  var secureForm = el('form', { 'class': 'secure', 'aria-labelledby': 'secure-title', hidden: true, novalidate: 'novalidate' }, [
    el('h3', { id: 'secure-title', text: T.secureTitle }),
    el('p', { 'class': 'hint', text: T.secureHint }),
    el('label', { 'for': 'secure-identifier', text: T.identLabel }), identInput, identError,
    el('label', { 'for': 'secure-password', text: T.passwordLabel }), passwordInput, passwordError,
    el('div', { 'class': 'row' }, [verifyButton, cancelButton])
  ]);

  // Callback form after a hand-over.
  var phoneInput = el('input', {
    id: 'callback-phone', name: 'phone', type: 'tel', inputmode: 'tel', autocomplete: 'tel',
    maxlength: '20', 'aria-describedby': 'callback-phone-error'
  });
  var phoneError = el('p', { id: 'callback-phone-error', 'class': 'field-error', 'aria-live': 'assertive' });
  var callbackForm = el('form', { 'class': 'callback', 'aria-labelledby': 'callback-title', hidden: true, novalidate: 'novalidate' }, [
    el('h3', { id: 'callback-title', text: T.callbackTitle }),
    el('label', { 'for': 'callback-phone', text: T.phoneLabel }), phoneInput, phoneError,
    el('div', { 'class': 'row' }, [el('button', { type: 'submit', 'class': 'primary', text: T.callbackSubmit })])
  ]);

  var textarea = el('textarea', {
    id: 'chat-input', rows: '1', placeholder: T.placeholder, 'aria-describedby': 'chat-hint chat-counter'
  });
  var inputHint = el('span', { id: 'chat-hint', 'class': 'sr-only', text: T.inputHint });
  var counter = el('div', { id: 'chat-counter', 'class': 'counter', 'aria-live': 'polite' });
  var sendButton = el('button', { type: 'submit', 'class': 'send', 'aria-label': T.send, text: T.send });
  var menuButton = el('button', { type: 'button', 'class': 'menu-button', 'aria-label': T.menuLabel, text: T.menu });
  var composer = el('form', { 'class': 'composer' }, [
    menuButton,
    el('label', { 'class': 'sr-only', 'for': 'chat-input', text: T.inputLabel }),
    textarea, sendButton, counter, inputHint
  ]);

  var endButton = el('button', { type: 'button', 'class': 'end', 'aria-label': T.endLabel, text: T.end });
  var closeButton = el('button', { type: 'button', 'class': 'close', 'aria-label': T.minimize },
    [el('span', { 'aria-hidden': 'true', text: '×' })]);
  var panel = el('section', {
    id: 'chat-panel', 'class': 'panel', role: 'dialog', 'aria-labelledby': 'chat-title', hidden: true
  }, [
    el('header', {}, [
      el('div', { 'class': 'heading' }, [
        el('h2', { id: 'chat-title', text: T.title }),
        el('p', { 'class': 'subtitle', text: T.subtitle })
      ]),
      endButton, closeButton
    ]),
    banner, log, typing, quick, secureForm, callbackForm, composer
  ]);

  root.appendChild(launcher);
  root.appendChild(panel);

  // ------------------------------------------------------------------ state

  var state = {
    started: false, busy: false, conversationId: null, maxChars: 500,
    mainMenu: null, handover: null
  };

  // ------------------------------------------------------------------ rendering

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function addItem(item) {
    var role = item.role === 'user' ? 'user' : (item.role === 'note' ? 'note' : 'bot');
    var li = el('li', { 'class': 'msg ' + role + (item.tone ? ' tone-' + item.tone : '') });
    var who = role === 'user' ? T.you : (role === 'bot' ? T.bot : T.notice);
    li.appendChild(el('span', { 'class': 'sr-only', text: who }));
    var bubble = el('div', { 'class': 'bubble' });
    if (item.text) { bubble.appendChild(el('p', { text: item.text })); }
    if (item.ticket) {
      var copy = el('button', { type: 'button', 'class': 'copy', text: T.copy });
      copy.addEventListener('click', function () {
        if (navigator.clipboard) {
          navigator.clipboard.writeText(item.ticket).then(function () { copy.textContent = T.copied; }, function () {});
        }
      });
      bubble.appendChild(el('div', { 'class': 'ticket' }, [
        el('span', { text: T.ticket }), el('strong', { 'class': 'ticket-id', text: item.ticket }), copy
      ]));
    }
    (item.links || []).forEach(function (link) {
      var href = safeUrl(link.url);
      if (!href || typeof link.title !== 'string') { return; }
      var a = el('a', { href: href, text: link.title });
      if (href.indexOf('https:') === 0) { a.setAttribute('target', '_blank'); a.setAttribute('rel', 'noopener noreferrer'); }
      bubble.appendChild(el('p', { 'class': 'link' }, [a]));
    });
    if (item.call) {
      bubble.appendChild(el('p', { 'class': 'link' }, [el('a', { href: HOTLINE, text: T.call })]));
    }
    li.appendChild(bubble);
    log.appendChild(li);
    scrollDown();
    return li;
  }

  function clearQuick() { while (quick.firstChild) { quick.removeChild(quick.firstChild); } }

  function showQuick(options) {
    clearQuick();
    options.forEach(function (option) {
      var button = el('button', { type: 'button', 'class': 'chip', text: option.title });
      button.addEventListener('click', function () { option.send(); });
      quick.appendChild(button);
    });
  }

  function showMenu(menu) {
    if (!menu) { return; }
    showQuick(menu.items.map(function (item) {
      return {
        title: item.label,
        send: function () { turn('message', { choice: { menu: menu.name, key: item.key } }, item.label); }
      };
    }));
  }

  function showButtons(buttons) {
    showQuick(buttons.map(function (button) {
      return {
        title: button.title,
        send: function () { turn('message', { choice: { button: button.id } }, button.title); }
      };
    }));
  }

  function showHandover(handover) {
    state.handover = handover;
    if (!handover) { banner.hidden = true; callbackForm.hidden = true; return; }
    while (banner.firstChild) { banner.removeChild(banner.firstChild); }
    var title = handover.mode === 'in_hours' ? T.handoverInHours
      : (handover.mode === 'backend_error' ? T.handoverBackendError : T.handoverAfterHours);
    banner.appendChild(el('strong', { text: title }));
    banner.appendChild(el('span', { text: handover.callback_done ? T.callbackDone : T.hoursPrefix + handover.hours }));
    banner.className = 'banner ' + (handover.mode === 'in_hours' ? 'open' : 'closed');
    banner.hidden = false;
    callbackForm.hidden = !!handover.callback_done;
  }

  function showSecure(open) {
    secureForm.hidden = !open;
    identError.textContent = '';
    passwordError.textContent = '';
    passwordInput.value = '';
    if (open) { identInput.focus(); }
  }

  function apply(data) {
    // A verified chat continues under a new conversation id (and cookie).
    if (data.conversation_id && data.conversation_id !== state.conversationId) {
      state.conversationId = data.conversation_id;
      remember({ conversationId: data.conversation_id });
    }
    (data.messages || []).forEach(addItem);
    if (data.menu) { showMenu(data.menu); }
    else if (data.buttons && data.buttons.length) { showButtons(data.buttons); }
    else { clearQuick(); }
    showHandover(data.handover || null);
    showSecure(!!data.secure_step);
  }

  // A turn the assistant could not finish (503 turn_failed): the chat may have
  // moved to its verified id meanwhile, and a callback is offered (hand-over form).
  function applyFailure(data) {
    if (data.conversation_id && data.conversation_id !== state.conversationId) {
      state.conversationId = data.conversation_id;
      remember({ conversationId: data.conversation_id });
    }
    if (data.handover) { showHandover(data.handover); }
  }

  function setBusy(busy) {
    state.busy = busy;
    typing.hidden = !busy;
    log.setAttribute('aria-busy', busy ? 'true' : 'false');
    sendButton.disabled = busy;
    verifyButton.disabled = busy;
    verifyButton.textContent = busy && !secureForm.hidden ? T.verifying : T.verify;
    Array.prototype.forEach.call(quick.querySelectorAll('button'), function (b) { b.disabled = busy; });
    if (busy) { scrollDown(); }
  }

  function showError(error, status) {
    addItem({ role: 'note', tone: 'error', text: error.message || T.network, call: status === 503 || !status });
  }

  // ------------------------------------------------------------------ talking to the gateway

  function post(path, body) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    return fetch(api + path, {
      method: 'POST',
      credentials: 'include',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json().then(function (data) {
        return { status: response.status, data: data };
      }, function () {
        return { status: response.status, data: { error: { message: T.network } } };
      });
    }).finally(function () { if (timer) { clearTimeout(timer); } });
  }

  function start(restart) {
    var before = recall().conversationId;
    return post('session', restart ? { restart: true } : {}).then(function (result) {
      var data = result.data;
      if (result.status !== 200) { showError(data.error || {}, result.status); return false; }
      state.started = true;
      state.conversationId = data.conversation_id;
      state.maxChars = data.max_chars;
      state.mainMenu = data.main_menu;
      textarea.setAttribute('maxlength', String(data.max_chars * 2));
      while (log.firstChild) { log.removeChild(log.firstChild); }
      addItem({ role: 'bot', text: data.welcome });
      if (!data.resumed && before && before !== data.conversation_id) {
        addItem({ role: 'note', tone: 'info', text: T.restarted });
      }
      remember({ conversationId: data.conversation_id });
      (data.history || []).forEach(addItem);
      if (data.notice) { addItem({ role: 'note', tone: 'error', text: data.notice, call: true }); }
      var fresh = !(data.history || []).length;
      apply({ buttons: data.buttons, handover: data.handover, secure_step: data.secure_step });
      if (fresh && !(data.buttons || []).length) { showMenu(data.main_menu); }
      return true;
    }, function () {
      showError({}, 0);
      return false;
    });
  }

  // One turn: show what the visitor did, wait (typing state), show the reply.
  function turn(path, body, shown, restore) {
    if (state.busy) { return Promise.resolve(); }
    var mine = shown ? addItem({ role: 'user', text: shown }) : null;
    body.conversation_id = state.conversationId;
    setBusy(true);
    return post(path, body).then(function (result) {
      setBusy(false);
      var data = result.data || {};
      if (result.status === 200) { apply(data); return; }
      var error = data.error || {};
      if (error.code === 'no_session' || error.code === 'wrong_conversation') {
        if (mine) { log.removeChild(mine); }
        if (restore) { textarea.value = restore; updateCounter(); }
        return start(false);
      }
      if (result.status === 422 || result.status === 400) {
        if (mine) { log.removeChild(mine); }
        if (restore) { textarea.value = restore; updateCounter(); }
      } else if (mine) {
        mine.classList.add('failed');
        mine.querySelector('.bubble').appendChild(el('span', { 'class': 'failed-mark', text: T.notDelivered }));
      }
      showError(error, result.status);
      applyFailure(data);
    }, function () {
      setBusy(false);
      if (mine) {
        mine.classList.add('failed');
        mine.querySelector('.bubble').appendChild(el('span', { 'class': 'failed-mark', text: T.notDelivered }));
      }
      showError({}, 0);
    });
  }

  // ------------------------------------------------------------------ events

  function updateCounter() {
    var n = Array.from(textarea.value.trim()).length;
    counter.textContent = n > state.maxChars * 0.8 ? fmt(T.counter, { n: n, max: state.maxChars }) : '';
    counter.classList.toggle('over', n > state.maxChars);
    textarea.style.height = 'auto';
    textarea.style.height = Math.min(textarea.scrollHeight, 120) + 'px';
  }

  function sendTyped() {
    var text = textarea.value.trim();
    if (!text) { addItem({ role: 'note', tone: 'error', text: T.empty }); return; }
    if (Array.from(text).length > state.maxChars) {
      addItem({ role: 'note', tone: 'error', text: fmt(T.tooLong, { max: state.maxChars }) });
      return;
    }
    textarea.value = '';
    updateCounter();
    turn('message', { text: text }, text, text);
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    launcher.hidden = true;
    remember({ open: true });
    var ready = state.started ? Promise.resolve(true) : start(false);
    ready.then(function () { if (secureForm.hidden) { textarea.focus(); } });
  }

  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute('aria-expanded', 'false');
    remember({ open: false });
    launcher.focus();
  }

  launcher.addEventListener('click', open);
  closeButton.addEventListener('click', close);
  panel.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') { event.preventDefault(); close(); }
  });
  endButton.addEventListener('click', function () { turn('end', {}, T.end); });
  menuButton.addEventListener('click', function () { showMenu(state.mainMenu); });

  composer.addEventListener('submit', function (event) { event.preventDefault(); sendTyped(); });
  textarea.addEventListener('input', updateCounter);
  textarea.addEventListener('keydown', function (event) {
    // Enter sends; Shift+Enter is a new line; never while a Chinese IME is composing.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      sendTyped();
    }
  });

  secureForm.addEventListener('submit', function (event) {
    event.preventDefault();
    var identifier = identInput.value.trim();
    var password = passwordInput.value;
    passwordInput.value = '';
    identError.textContent = '';
    passwordError.textContent = '';
    if (!identifier) { identError.textContent = T.identMissing; identInput.focus(); return; }
    if (!/^[0-9]{6}$/.test(password)) { passwordError.textContent = T.passwordBad; passwordInput.focus(); return; }
    if (state.busy) { return; }
    setBusy(true);
    post('verify', { conversation_id: state.conversationId, identifier: identifier, password: password })
      .then(function (result) {
        setBusy(false);
        var data = result.data || {};
        if (result.status === 200) {
          apply(data);
          if (data.secure_step) {  // asked again (wrong password): keep the number, retype the password
            identInput.value = identifier;
            passwordInput.focus();
          } else {
            identInput.value = '';
          }
          return;
        }
        var error = data.error || {};
        if (error.field === 'identifier') { identError.textContent = error.message; identInput.focus(); return; }
        if (error.field === 'password') { passwordError.textContent = error.message; passwordInput.focus(); return; }
        if (error.code === 'verify_not_requested' || error.code === 'turn_failed') { showSecure(false); }
        showError(error, result.status);
        applyFailure(data);
      }, function () { setBusy(false); showError({}, 0); });
    password = null;
  });
  cancelButton.addEventListener('click', function () {
    identInput.value = '';
    showSecure(false);
    addItem({ role: 'note', tone: 'info', text: T.cancelled });
    textarea.focus();
  });

  callbackForm.addEventListener('submit', function (event) {
    event.preventDefault();
    phoneError.textContent = '';
    var phone = phoneInput.value.trim();
    if (state.busy) { return; }
    setBusy(true);
    post('callback', { conversation_id: state.conversationId, phone: phone }).then(function (result) {
      setBusy(false);
      var data = result.data || {};
      if (result.status === 200) {
        phoneInput.value = '';
        (data.messages || []).forEach(addItem);
        showHandover(data.handover || null);
        textarea.focus();
        return;
      }
      var error = data.error || {};
      if (error.field === 'phone') { phoneError.textContent = error.message; phoneInput.focus(); return; }
      showError(error, result.status);
    }, function () { setBusy(false); showError({}, 0); });
  });

  function mount() {
    document.body.appendChild(host);
    if (recall().open) { open(); }
  }
  if (document.body) { mount(); } else { document.addEventListener('DOMContentLoaded', mount); }
}());
