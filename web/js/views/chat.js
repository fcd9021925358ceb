// The conversation with one agent: messages oldest at the top (older pages
// load when scrolled up), inline decision cards of the conversation, the
// processing indicator, and the composer (Enter sends, Shift+Enter adds a
// line).
import { api } from '../api.js';
import { el, clear, timeEl, sameOriginMedia, plural, setChildren } from '../util.js';
import { render as markdown } from '../markdown.js';
import { openDialog, toast } from '../dialog.js';
import { store, subscribe } from '../store.js';
import { decisionCard } from './decisions.js';

const PAGE = 50;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
const sortKey = (id) => id.slice(id.indexOf('_') + 1);

function openReport(msg) {
  const src = sameOriginMedia(msg.image_url);
  openDialog({
    title: msg.report_title || 'Report', testid: 'report-dialog', fullscreen: true,
    body: [
      msg.report_description ? el('p', { class: 'report-description', text: msg.report_description }) : null,
      src ? el('img', { class: 'report-image', src, alt: msg.report_title || 'Report image' }) : null,
      msg.text ? el('div', { class: 'md report-body' }, markdown(msg.text)) : null,
    ],
  });
}

function messageNode(msg, onReply) {
  const role = msg.role === 'user' ? 'user' : 'agent';
  const parts = [];
  if (msg.reply_to_id) {
    parts.push(el('blockquote', { class: 'reply-quote', testid: 'reply-quote' },
      el('span', { class: 'sr-only', text: 'In reply to: ' }), msg.reply_to_text || '(message)'));
  }
  const src = sameOriginMedia(msg.image_url);
  if (msg.report_title || msg.report_description) {
    const card = el('button', { type: 'button', class: 'report-card', testid: 'report-card' },
      el('span', { class: 'report-kicker', text: 'Report' }),
      el('span', { class: 'report-title', text: msg.report_title || 'Report' }),
      msg.report_description ? el('span', { class: 'report-desc', text: msg.report_description }) : null,
      el('span', { class: 'report-open', text: 'Open full screen ›' }));
    card.addEventListener('click', () => openReport(msg));
    parts.push(card);
  } else {
    if (src) {
      parts.push(el('a', { href: src, target: '_blank', rel: 'noopener', class: 'msg-image' },
        el('img', { src, alt: role === 'user' ? 'Image sent to the agent' : 'Image from the agent', loading: 'lazy', testid: 'message-image' })));
    }
    if (msg.text) parts.push(el('div', { class: 'md', testid: 'message-text' }, markdown(msg.text)));
  }
  const reply = el('button', { type: 'button', class: 'link-btn', testid: 'reply-button', text: 'Reply', 'aria-label': 'Reply to this message' });
  reply.addEventListener('click', () => onReply(msg));
  return el('article', {
    class: `msg role-${role}${msg.task_run_id ? ' task-result' : ''}`, testid: 'message',
    'data-message-id': msg.id, 'data-role': role,
  },
  el('div', { class: msg.report_title || msg.report_description ? 'bubble report' : 'bubble' }, parts),
  el('footer', { class: 'msg-meta' },
    msg.task_run_id ? el('span', { class: 'chip subtle', testid: 'task-run-badge', title: msg.task_run_id, text: 'task run' }) : null,
    role === 'user' && msg.sender_name ? el('span', { text: msg.sender_name }) : null,
    timeEl(msg.created_at), reply));
}

export function mountChat(root, { agentId }) {
  const agent = () => store.agents.get(agentId) || {};
  let convId = null;
  let conversations = [];
  const messages = new Map();
  let oldest = null;
  let hasMore = false;
  let loadingOlder = false;
  let replyTo = null;
  let gen = 0;

  const convSelect = el('select', { testid: 'conversation-select' });
  const convBar = el('div', { class: 'conv-bar', hidden: true },
    el('label', { for: 'conv-select', text: 'Conversation' }), convSelect);
  convSelect.id = 'conv-select';
  const outside = el('a', { class: 'notice', href: '#/requests', hidden: true, testid: 'outside-requests' });
  const olderStatus = el('p', { class: 'older-status muted' });
  const timeline = el('div', { class: 'timeline' });
  const processing = el('div', { class: 'processing', testid: 'processing-indicator', role: 'status', hidden: true });
  const scroller = el('div', { class: 'messages', testid: 'message-list', role: 'log', 'aria-label': 'Messages', tabindex: '0' },
    olderStatus, timeline, processing);
  const jump = el('button', { type: 'button', class: 'btn small jump', hidden: true, testid: 'new-messages', text: 'New messages ↓' });

  const input = el('textarea', { id: 'composer-input', rows: 1, testid: 'composer-input', placeholder: 'Message', autocomplete: 'off' });
  const send = el('button', { type: 'submit', class: 'btn primary', testid: 'composer-send', text: 'Send' });
  const replyChip = el('div', { class: 'reply-chip', hidden: true, testid: 'reply-chip' });
  // An image goes with the message as base64 (the server checks its type
  // and its size, 5 MiB at most, as for agents' images).
  const fileInput = el('input', { type: 'file', id: 'composer-image', class: 'sr-only', accept: IMAGE_TYPES.join(','), testid: 'composer-image' });
  const attach = el('label', { for: 'composer-image', class: 'btn attach', title: 'Attach an image', testid: 'composer-attach' },
    el('span', { 'aria-hidden': 'true', text: '📎' }), el('span', { class: 'sr-only', text: 'Attach an image' }));
  const attachmentChip = el('div', { class: 'reply-chip', hidden: true, testid: 'attachment-chip' });
  let attachment = null;
  const composer = el('form', { class: 'composer', testid: 'composer' },
    replyChip, attachmentChip,
    el('div', { class: 'composer-row' },
      el('label', { for: 'composer-input', class: 'sr-only', text: 'Message to the agent' }), fileInput, attach, input, send),
    el('p', { class: 'hint', text: 'Enter sends · Shift+Enter adds a line' }));
  const approvalOnly = el('p', { class: 'notice', testid: 'approval-only', text: 'This agent is approval-only: it sends requests and alerts but does not take chat messages.' });

  setChildren(root, el('div', { class: 'chat' }, convBar, outside, scroller, jump,
    agent().type === 'approval_only' ? approvalOnly : composer));

  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const toBottom = () => { scroller.scrollTop = scroller.scrollHeight; jump.hidden = true; };

  // Ids are time-ordered 64-bit numbers in fixed-width hex, across kinds:
  // their hex part orders messages and decisions (created_at has only seconds).
  const insert = (node) => {
    const key = node.dataset.key;
    let after = timeline.lastElementChild;
    while (after && after.dataset.key > key) after = after.previousElementSibling;
    if (after) after.after(node);
    else timeline.prepend(node);
  };

  const setReply = (msg) => {
    replyTo = msg;
    clear(replyChip);
    replyChip.hidden = !msg;
    if (msg) {
      const cancel = el('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Cancel reply', testid: 'reply-cancel', text: '×' });
      cancel.addEventListener('click', () => setReply(null));
      replyChip.append(el('span', { class: 'reply-label', text: 'Replying to' }),
        el('span', { class: 'reply-text', text: msg.text || msg.report_title || '(image)' }), cancel);
      input.focus();
    }
  };

  const addMessage = (msg) => {
    if (messages.has(msg.id)) return false;
    messages.set(msg.id, msg);
    const node = messageNode(msg, setReply);
    node.dataset.key = sortKey(msg.id);
    insert(node);
    return true;
  };

  const addDecision = (d) => {
    if (timeline.querySelector(`[data-decision-id="${CSS.escape(d.id)}"]`)) return;
    insert(el('div', { class: 'timeline-card', 'data-key': sortKey(d.id) }, decisionCard(d)));
  };

  const drawOutside = () => {
    const n = [...store.pending.values()].filter((d) => d.agent_id === agentId && !d.conversation_id).length;
    outside.hidden = n === 0;
    outside.textContent = `${plural(n, 'pending request')} from this agent outside the chat — open the inbox ›`;
  };

  const drawProcessing = () => {
    const a = agent();
    const here = a.processing && (!a.processing_conversation || !convId || a.processing_conversation === convId);
    const wasHidden = processing.hidden;
    const stick = nearBottom();
    processing.hidden = !here;
    if (here) {
      const text = a.status_text && a.status_text !== 'Thinking' ? a.status_text : '';
      setChildren(processing, el('span', { class: 'typing', 'aria-hidden': 'true' }, el('i'), el('i'), el('i')),
        el('span', { text: `Thinking… ${text}`.trim() }));
      if (wasHidden && stick) toBottom();
    }
  };

  const drawOlderStatus = () => {
    olderStatus.textContent = loadingOlder ? 'Loading older messages…'
      : hasMore ? '' : messages.size ? 'Beginning of the conversation' : '';
  };

  const loadOlder = async () => {
    if (!convId || !hasMore || loadingOlder) return;
    loadingOlder = true;
    scroller.setAttribute('aria-busy', 'true'); // older pages are not news: no announcements
    drawOlderStatus();
    const mine = gen;
    try {
      const page = await api.messages(convId, oldest, PAGE);
      if (mine !== gen) return;
      const before = scroller.scrollHeight - scroller.scrollTop;
      for (const m of page) addMessage(m);
      if (page.length) oldest = page[page.length - 1].id;
      hasMore = page.length === PAGE;
      scroller.scrollTop = scroller.scrollHeight - before;
    } catch (err) {
      toast(err.detail, 'error');
    } finally {
      loadingOlder = false;
      scroller.removeAttribute('aria-busy');
      drawOlderStatus();
    }
    // A short first page may not fill the screen: keep going.
    if (hasMore && scroller.scrollHeight <= scroller.clientHeight + 10) loadOlder();
  };

  const loadConversation = async () => {
    const mine = ++gen;
    messages.clear();
    clear(timeline);
    oldest = null;
    hasMore = false;
    if (!convId) { drawOlderStatus(); return; }
    // The first page is not news: no announcements while it goes in.
    scroller.setAttribute('aria-busy', 'true');
    try {
      const [page, decisions] = await Promise.all([
        api.messages(convId, undefined, PAGE),
        api.decisions({ agent_id: agentId, limit: 200 }).catch(() => []),
      ]);
      if (mine !== gen) return;
      for (const m of page) addMessage(m);
      if (page.length) oldest = page[page.length - 1].id;
      hasMore = page.length === PAGE;
      for (const d of decisions) if (d.conversation_id === convId) addDecision(d);
    } finally {
      scroller.removeAttribute('aria-busy');
    }
    drawOlderStatus();
    drawProcessing();
    toBottom();
    if (hasMore && scroller.scrollHeight <= scroller.clientHeight + 10) loadOlder();
  };

  const drawConversations = () => {
    convBar.hidden = conversations.length < 2;
    setChildren(convSelect, conversations.map((c, i) => el('option', {
      value: c.id, text: `${i === 0 ? 'Latest' : 'Started'} · ${new Date(c.created_at).toLocaleString()}`,
    })));
    if (convId) convSelect.value = convId;
  };

  const load = async () => {
    try {
      conversations = await api.conversations(agentId);
      if (!convId || !conversations.some((c) => c.id === convId)) convId = conversations[0]?.id || null;
      drawConversations();
      await loadConversation();
    } catch (err) {
      setChildren(timeline, el('p', { class: 'form-error', text: err.detail }));
    }
  };

  convSelect.addEventListener('change', () => { convId = convSelect.value; loadConversation(); });
  scroller.addEventListener('scroll', () => {
    if (scroller.scrollTop < 120) loadOlder();
    if (nearBottom()) jump.hidden = true;
  });
  jump.addEventListener('click', toBottom);

  const autosize = () => { input.rows = Math.min(8, Math.max(1, input.value.split('\n').length)); };
  input.addEventListener('input', autosize);
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      composer.requestSubmit();
    }
  });
  const setAttachment = (a) => {
    attachment = a;
    fileInput.value = '';
    attachmentChip.hidden = !a;
    if (!a) { clear(attachmentChip); return; }
    const remove = el('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Remove the image', testid: 'attachment-remove', text: '×' });
    remove.addEventListener('click', () => setAttachment(null));
    setChildren(attachmentChip, el('span', { class: 'reply-label', text: 'Image' }),
      el('span', { class: 'reply-text', text: a.name }), remove);
  };
  fileInput.addEventListener('change', () => {
    const file = fileInput.files && fileInput.files[0];
    if (!file) return;
    if (!IMAGE_TYPES.includes(file.type)) {
      toast('Attach a PNG, JPEG, GIF or WebP image', 'error');
      fileInput.value = '';
      return;
    }
    if (file.size > MAX_IMAGE_BYTES) {
      toast('Images are at most 5 MiB', 'error');
      fileInput.value = '';
      return;
    }
    const reader = new FileReader();
    reader.onload = () => setAttachment({ name: file.name, dataUrl: reader.result });
    reader.onerror = () => toast('Could not read the image', 'error');
    reader.readAsDataURL(file);
  });

  composer.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = input.value;
    if (!text.trim() && !attachment) return;
    const body = { text };
    if (attachment) body.image_base64 = attachment.dataUrl;
    if (convId) body.conversation_id = convId;
    if (replyTo) body.reply_to_id = replyTo.id;
    send.disabled = true;
    try {
      const msg = await api.sendMessage(agentId, body);
      input.value = '';
      autosize();
      setReply(null);
      setAttachment(null);
      if (!convId) {
        convId = msg.conversation_id;
        conversations = await api.conversations(agentId).catch(() => conversations);
        drawConversations();
      }
      if (msg.conversation_id === convId) addMessage(msg);
      drawOlderStatus();
      toBottom();
    } catch (err) {
      toast(`Not sent: ${err.detail}`, 'error');
    } finally {
      send.disabled = false;
      input.focus();
    }
  });

  const unsubscribe = subscribe((what) => {
    if (what === 'agents') drawProcessing();
    if (what === 'pending') drawOutside();
  });
  drawOutside();
  drawProcessing();
  load();

  return {
    onFrame(f) {
      if (f.type === 'message' && f.message?.agent_id === agentId) {
        const msg = f.message;
        if (!convId) {
          convId = msg.conversation_id;
          api.conversations(agentId).then((c) => { conversations = c; drawConversations(); }).catch(() => {});
        }
        if (msg.conversation_id !== convId) {
          if (!conversations.some((c) => c.id === msg.conversation_id)) {
            api.conversations(agentId).then((c) => { conversations = c; drawConversations(); }).catch(() => {});
          }
          return;
        }
        const stick = nearBottom();
        if (addMessage(msg)) {
          drawOlderStatus();
          if (stick || msg.role === 'user') toBottom();
          else jump.hidden = false;
        }
      } else if (f.type === 'decision_created' && f.decision?.agent_id === agentId
                 && f.decision.conversation_id && f.decision.conversation_id === convId) {
        const stick = nearBottom();
        addDecision(f.decision);
        if (stick) toBottom();
        else jump.hidden = false;
      }
    },
    refresh: load,
    destroy: unsubscribe,
  };
}
