// Notification settings (#/settings): Web Push on this device, the
// person's other devices, which events notify, quiet hours, muted agents,
// and the ntfy, Slack and email channels, each with a test and its last
// result.
import { api } from '../api.js';
import { el, field, setChildren, timeEl } from '../util.js';
import { busy, toast } from '../dialog.js';
import { sortedAgents } from '../store.js';
import { pushState, enablePush, disablePush, currentEndpoint } from '../push.js';

const EVENTS = [
  ['decision', 'A new request (approval, choice, question, permission)'],
  ['message', 'A message from an agent'],
  ['expiring', 'A request about to expire'],
  ['pending', 'Events an agent could not be given'],
];

function statusLine(status, testid) {
  if (!status) return null;
  if (status.last_error) {
    return el('p', { class: 'form-error', testid, text: `Last error: ${status.last_error}` },
      status.last_error_at ? [' (', timeEl(status.last_error_at), ')'] : null);
  }
  if (status.last_sent_at) return el('p', { class: 'hint', testid }, 'Last sent ', timeEl(status.last_sent_at));
  return null;
}

function testButton(channel, error, onDone) {
  const b = el('button', { type: 'button', class: 'btn small', testid: `test-${channel}`, text: 'Send test' });
  b.addEventListener('click', () => busy(b, async () => {
    const r = await api.testChannel(channel);
    // The section redraws with the channel's last result below it.
    if (r.ok) toast('Test sent.', 'info');
    else toast(`The test failed: ${r.error}`, 'error');
    onDone();
  }, error));
  return b;
}

export function mountSettings(root) {
  const page = el('div', { class: 'page scroll-pane settings' });
  let settings = null;
  let devices = [];

  const save = (patch, button, error) => busy(button, async () => {
    settings = await api.updateNotifications(patch);
    toast('Saved.', 'info');
    draw();
  }, error);

  function deviceSection(state, here) {
    const error = el('p', { class: 'form-error', role: 'alert' });
    const parts = [];
    if (state === 'unsupported') {
      parts.push(el('p', { class: 'hint', text: 'This browser cannot receive push notifications. On an iPhone, add Nod to the home screen first (Share › Add to Home Screen), then open it from there.' }));
    } else if (state === 'denied') {
      parts.push(el('p', { class: 'hint', text: 'Notifications are blocked for this site. Allow them in the browser’s site settings, then come back.' }));
    } else if (state === 'on') {
      const off = el('button', { type: 'button', class: 'btn', testid: 'push-off', text: 'Turn off on this device' });
      off.addEventListener('click', () => busy(off, async () => { await disablePush(devices); await load(); }, error));
      parts.push(el('p', { testid: 'push-state', text: 'Notifications are on for this device.' }), el('div', { class: 'actions' }, off, testButton('push', error, load)));
    } else {
      const on = el('button', { type: 'button', class: 'btn primary', testid: 'push-on', text: 'Turn on notifications' });
      on.addEventListener('click', () => busy(on, async () => { await enablePush(); await load(); }, error));
      parts.push(el('p', { testid: 'push-state', text: 'Get a notification on this device when an agent needs you, even with Nod closed.' }), on);
    }
    const list = devices.length
      ? el('ul', { class: 'plain-list', testid: 'push-devices' }, devices.map((d) => {
        const remove = el('button', { type: 'button', class: 'btn ghost small', text: 'Remove' });
        remove.addEventListener('click', () => busy(remove, async () => { await api.deleteSubscription(d.id); await load(); }, error));
        let host = d.endpoint;
        try { host = new URL(d.endpoint).host; } catch { /* shown as is */ }
        return el('li', { class: 'device', 'data-subscription-id': d.id },
          el('span', { text: d.endpoint === here ? `This device (${host})` : host }), ' · added ', timeEl(d.created_at),
          statusLine(d.status, 'device-status'), remove);
      }))
      : null;
    return el('section', { class: 'settings-section', testid: 'settings-push' },
      el('h2', { text: 'Push notifications' }), parts, list, error);
  }

  function eventsSection() {
    const error = el('p', { class: 'form-error', role: 'alert' });
    const boxes = EVENTS.map(([key, label]) => {
      const box = el('input', { type: 'checkbox', testid: `event-${key}`, checked: Boolean(settings.events[key]) });
      box.dataset.key = key;
      return el('label', { class: 'check' }, box, ` ${label}`);
    });
    const quietOn = el('input', { type: 'checkbox', testid: 'quiet-on', checked: Boolean(settings.quiet_hours) });
    const start = el('input', { type: 'time', testid: 'quiet-start', value: settings.quiet_hours?.start || '22:00' });
    const end = el('input', { type: 'time', testid: 'quiet-end', value: settings.quiet_hours?.end || '07:00' });
    const zone = el('input', {
      type: 'text', testid: 'quiet-zone', value: settings.quiet_hours?.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    });
    const muted = new Set(settings.muted_agents);
    const agentBoxes = sortedAgents().map((a) => {
      const box = el('input', { type: 'checkbox', testid: 'mute-agent', checked: muted.has(a.id) });
      box.dataset.agentId = a.id;
      return el('label', { class: 'check' }, box, ` ${a.name}`);
    });
    const saveBtn = el('button', { type: 'submit', class: 'btn primary', testid: 'save-events', text: 'Save' });
    const form = el('form', { class: 'settings-form' },
      el('fieldset', {}, el('legend', { text: 'Notify me about' }), boxes),
      el('fieldset', {}, el('legend', { text: 'Quiet hours' }),
        el('label', { class: 'check' }, quietOn, ' Nothing between'),
        el('div', { class: 'row' }, field('From', start), field('To', end), field('Time zone', zone))),
      agentBoxes.length ? el('fieldset', {}, el('legend', { text: 'Mute these agents' }), agentBoxes) : null,
      saveBtn, error);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const events = {};
      for (const box of form.querySelectorAll('input[data-key]')) events[box.dataset.key] = box.checked;
      save({
        events,
        quiet_hours: quietOn.checked ? { start: start.value, end: end.value, timezone: zone.value.trim() || 'UTC' } : null,
        muted_agents: [...form.querySelectorAll('input[data-agent-id]')].filter((b) => b.checked).map((b) => b.dataset.agentId),
      }, saveBtn, error);
    });
    return el('section', { class: 'settings-section', testid: 'settings-events' }, el('h2', { text: 'When' }), form);
  }

  function channelSection(name, title, hint, inputs, toPatch) {
    const error = el('p', { class: 'form-error', role: 'alert' });
    const set = Boolean(settings.channels[name]);
    const saveBtn = el('button', { type: 'submit', class: 'btn primary', testid: `save-${name}`, text: 'Save' });
    const removeBtn = el('button', { type: 'button', class: 'btn ghost', testid: `remove-${name}`, text: 'Remove', hidden: !set });
    removeBtn.addEventListener('click', () => save({ channels: { [name]: null } }, removeBtn, error));
    const form = el('form', { class: 'settings-form' }, inputs.map(([label, input, h]) => field(label, input, h)),
      el('div', { class: 'actions' }, saveBtn, set ? testButton(name, error, load) : null, removeBtn),
      statusLine(settings.channel_status?.[name], `${name}-status`), error);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      save({ channels: { [name]: toPatch() } }, saveBtn, error);
    });
    return el('section', { class: 'settings-section', testid: `settings-${name}` },
      el('h2', { text: title }), el('p', { class: 'hint', text: hint }), form);
  }

  function draw(state = 'off', here = null) {
    const ntfy = settings.channels.ntfy || {};
    const server = el('input', { type: 'url', testid: 'ntfy-server', value: ntfy.server || 'https://ntfy.sh', required: true });
    const topic = el('input', { type: 'text', testid: 'ntfy-topic', value: ntfy.topic || '', required: true, pattern: '[A-Za-z0-9_\\-]{1,64}' });
    const token = el('input', { type: 'password', testid: 'ntfy-token', autocomplete: 'off', placeholder: ntfy.token_set ? '(kept)' : '' });
    const slackUrl = el('input', { type: 'url', testid: 'slack-url', required: true, placeholder: settings.channels.slack?.webhook_url || 'https://hooks.slack.com/services/…' });
    const to = el('input', { type: 'email', testid: 'email-to', required: true, value: settings.channels.email?.to || '' });
    setChildren(page,
      el('header', { class: 'page-head' }, el('h1', { text: 'Notifications' })),
      deviceSection(state, here),
      eventsSection(),
      channelSection('ntfy', 'ntfy', 'Pushes to the ntfy app on your phone (ntfy.sh or your own server); requests come with Approve / Deny buttons that open them here.',
        [['Server', server], ['Topic', topic, 'Pick something hard to guess: anyone who knows a public topic can read it.'], ['Access token (optional)', token]],
        () => ({ server: server.value.trim(), topic: topic.value.trim(), ...(token.value ? { token: token.value } : {}) })),
      channelSection('slack', 'Slack', 'A message with a link to the request, through a Slack incoming webhook.',
        [['Incoming webhook URL', slackUrl]], () => ({ webhook_url: slackUrl.value.trim() })),
      channelSection('email', 'Email', 'An email with a link to the request (the server’s smtp-* settings must be set).',
        [['Send to', to]], () => ({ to: to.value.trim() })));
  }

  async function load() {
    try {
      [settings, devices] = await Promise.all([api.notifications(), api.subscriptions()]);
      draw(await pushState(), await currentEndpoint());
    } catch (err) {
      setChildren(page, el('p', { class: 'form-error', role: 'alert', text: err.detail || String(err) }));
    }
  }

  setChildren(root, page);
  load();
  return { refresh: load };
}
