// Tasks, overall or for one agent: scheduled (cron, with a preview of the
// next runs), once and event tasks (trigger URL and curl); enable, run
// now, edit, delete; each task's runs with status and results.
import { api } from '../api.js';
import { el, clear, field, timeEl, relTime, copyField, copyBlock, prettyJSON, shellQuote, debounce, setChildren, keepFocus } from '../util.js';
import { openDialog, confirmDialog, busy, toast } from '../dialog.js';
import { store, agentName, sortedAgents } from '../store.js';
import { nextRuns, localZone } from '../cron.js';

const RUN_STATUS = { due: 'Due', running: 'Running', completed: 'Completed', failed: 'Failed' };

function zoneFormat(zone) {
  try {
    return new Intl.DateTimeFormat(undefined, {
      timeZone: zone, weekday: 'short', month: 'short', day: 'numeric', year: 'numeric', hour: '2-digit', minute: '2-digit',
    });
  } catch {
    return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
  }
}

function toLocalInput(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

/** The server hands out a relative trigger URL when it has no public URL
 * (NOD_PUBLIC_URL unset and a listen port of 0): make it one that works
 * from a terminal. */
function absoluteUrl(url) {
  try { return new URL(url, location.origin).href; } catch { return url; }
}

function triggerCurl(url) {
  return `curl -X POST ${shellQuote(url)} -H 'Content-Type: application/json' -d '{"hello":"world"}'`;
}

// -- the form ---------------------------------------------------------------------

/** Create (task null) or edit a task in a dialog; onSaved(task). */
export function openTaskForm({ task = null, agentId = null, onSaved }) {
  const browserZone = localZone();
  const agents = sortedAgents().filter((a) => a.type !== 'approval_only' || a.id === agentId);
  const agentSel = el('select', { testid: 'task-agent', required: true },
    agents.map((a) => el('option', { value: a.id, text: a.name })));
  if (agentId) agentSel.value = agentId;
  const name = el('input', { required: true, testid: 'task-name', value: task?.name || '' });
  const prompt = el('textarea', { rows: 4, required: true, testid: 'task-prompt' });
  prompt.value = task?.prompt || '';

  const kinds = [['scheduled', 'Repeating (cron)'], ['once', 'Once'], ['event', 'On an event (trigger URL)']];
  const kind = task?.trigger_type || 'scheduled';
  const radios = kinds.map(([value, label]) => {
    const input = el('input', { type: 'radio', name: 'task-kind', value, id: `kind-${value}`, testid: `task-kind-${value}` });
    input.checked = value === kind;
    return el('label', { class: 'radio', for: `kind-${value}` }, input, label);
  });
  const selectedKind = () => radios.map((r) => r.querySelector('input')).find((i) => i.checked)?.value || 'scheduled';

  const cron = el('input', {
    class: 'mono', testid: 'task-cron', autocomplete: 'off', spellcheck: 'false',
    value: task?.trigger_type === 'scheduled' ? task.schedule : '0 9 * * MON-FRI',
  });
  const zones = [...new Set([browserZone, 'UTC', task?.timezone].filter(Boolean))];
  const zone = el('select', { testid: 'task-timezone' },
    zones.map((z) => el('option', { value: z, text: z === browserZone ? `${z} (this browser)` : z })));
  zone.value = task ? (task.timezone || 'UTC') : browserZone;
  const preview = el('ol', { class: 'cron-preview', testid: 'cron-preview' });
  const previewError = el('p', { class: 'form-error', testid: 'cron-error', role: 'status' });
  const scheduledBox = el('div', { class: 'kind-box' },
    field('Cron expression', cron, 'minute hour day-of-month month day-of-week · e.g. */15 * * * *, 0 9 * * MON-FRI, @daily'),
    field('Time zone', zone),
    el('div', { class: 'preview-box', 'aria-live': 'polite' }, el('p', { class: 'small-heading', text: 'Next runs' }), previewError, preview));

  const runAt = el('input', { type: 'datetime-local', testid: 'task-run-at', value: task?.run_at ? toLocalInput(task.run_at) : '' });
  const onceBox = el('div', { class: 'kind-box' }, field('Run at (your local time)', runAt, `Time zone: ${browserZone}`));
  const eventBox = el('div', { class: 'kind-box' }, el('p', { class: 'muted', text: 'The task gets a secret trigger URL. Any POST to it wakes the agent with the request body as payload.' }));

  const drawPreview = () => {
    clear(preview);
    previewError.textContent = '';
    cron.removeAttribute('aria-invalid');
    try {
      const fmt = zoneFormat(zone.value);
      const times = nextRuns(cron.value, 5, Date.now(), zone.value);
      if (!times.length) previewError.textContent = 'This expression never fires.';
      for (const t of times) preview.append(el('li', { text: fmt.format(new Date(t)) }));
    } catch (err) {
      previewError.textContent = `schedule: ${err.message}`;
      cron.setAttribute('aria-invalid', 'true');
    }
  };
  const drawKind = () => {
    const k = selectedKind();
    scheduledBox.hidden = k !== 'scheduled';
    onceBox.hidden = k !== 'once';
    eventBox.hidden = k !== 'event';
    if (k === 'scheduled') drawPreview();
  };
  const debounced = debounce(drawPreview, 150);
  cron.addEventListener('input', debounced);
  zone.addEventListener('change', drawPreview);
  for (const r of radios) r.querySelector('input').addEventListener('change', drawKind);

  const error = el('p', { class: 'form-error', role: 'alert', testid: 'task-form-error' });
  const submit = el('button', { type: 'submit', class: 'btn primary', testid: 'task-submit', text: task ? 'Save task' : 'Create task' });
  const controls = { name, prompt, schedule: cron, run_at: runAt, timezone: zone };
  const form = el('form', { testid: 'task-form', novalidate: true },
    !task && !agentId ? field('Agent', agentSel) : null,
    field('Name', name),
    field('Prompt', prompt, 'What the agent is asked to do when the task runs.'),
    el('fieldset', { class: 'kinds' }, el('legend', { text: 'When' }), radios),
    scheduledBox, onceBox, eventBox, error,
    el('div', { class: 'dialog-actions' }, el('button', { type: 'button', class: 'btn', value: 'close', text: 'Cancel' }), submit));
  drawKind();

  const dlg = openDialog({ title: task ? `Edit “${task.name}”` : 'New task', testid: 'task-dialog', wide: true, body: [form] });

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    for (const c of Object.values(controls)) c.removeAttribute('aria-invalid');
    const k = selectedKind();
    const body = { name: name.value.trim(), prompt: prompt.value };
    if (k === 'scheduled') {
      body.schedule = cron.value.trim();
      if (zone.value !== 'UTC') body.timezone = zone.value;
      else if (task) body.timezone = null;
    } else if (k === 'once') {
      body.schedule = 'once';
      const t = runAt.value ? new Date(runAt.value) : null;
      if (!t || Number.isNaN(t.getTime())) {
        error.textContent = 'run_at: choose a date and time';
        runAt.setAttribute('aria-invalid', 'true');
        runAt.focus();
        return;
      }
      body.run_at = t.toISOString().replace('.000Z', 'Z');
    } else {
      body.schedule = 'event';
    }
    const target = task ? null : (agentId || agentSel.value);
    if (!task && !target) { error.textContent = 'Create an interactive agent first.'; return; }
    busy(submit, async () => {
      try {
        const saved = task ? await api.updateTask(task.id, body) : await api.createTask(target, body);
        dlg.close();
        toast(task ? 'Task saved.' : 'Task created.');
        onSaved?.(saved);
      } catch (err) {
        // "schedule: minute: 61 is out of range" names the field: mark it.
        const named = /^(\w+):/.exec(err.detail || '');
        const control = named && controls[named[1]];
        if (control) { control.setAttribute('aria-invalid', 'true'); control.focus(); }
        throw err;
      }
    }, error);
  });
}

// -- runs -------------------------------------------------------------------------

function runRow(run) {
  const blocks = [];
  if (typeof run.summary === 'string' && run.summary) blocks.push(['Summary', run.summary]);
  if (run.payload !== null && run.payload !== undefined) blocks.push(['Payload', run.payload]);
  if (run.result !== null && run.result !== undefined) blocks.push(['Result', run.result]);
  if (run.error !== null && run.error !== undefined) blocks.push(['Error', run.error]);
  const items = Array.isArray(run.items) ? run.items : [];
  return el('li', { class: `run status-${run.status}`, testid: 'run-row', 'data-run-id': run.id, 'data-status': run.status },
    el('div', { class: 'run-head' },
      el('span', { class: `chip state-${run.status}`, testid: 'run-status', text: RUN_STATUS[run.status] || run.status }),
      el('span', { class: 'muted', text: run.origin }),
      timeEl(run.created_at),
      run.completed_at ? el('span', { class: 'muted' }, '→ ', timeEl(run.completed_at)) : null,
      el('span', { class: 'mono muted small', text: run.id })),
    blocks.map(([label, value]) => el('div', { class: `run-block ${label.toLowerCase()}` },
      el('span', { class: 'small-heading', text: label }),
      label === 'Summary'
        ? el('p', { testid: 'run-summary', text: value })
        : el('pre', { class: 'mono', testid: `run-${label.toLowerCase()}`, text: prettyJSON(value) }))),
    items.length ? el('p', { class: 'muted small', text: `Items: ${items.map((i) => `${i.type} ${i.id}`).join(', ')}` }) : null);
}

function runsPanel(task) {
  const list = el('ol', { class: 'run-list', testid: 'run-list' });
  const panel = el('div', { class: 'runs' }, list);
  const rows = new Map();
  panel.load = async () => {
    try {
      const runs = await api.runs(task.id, { limit: 20 });
      clear(list);
      rows.clear();
      for (const r of runs) {
        const row = runRow(r);
        rows.set(r.id, row);
        list.append(row);
      }
      if (!runs.length) list.append(el('li', { class: 'empty', text: 'No runs yet.' }));
    } catch (err) {
      setChildren(list, el('li', { class: 'form-error', text: err.detail }));
    }
  };
  panel.upsert = (run) => {
    const row = runRow(run);
    const old = rows.get(run.id);
    rows.set(run.id, row);
    list.querySelector('.empty')?.remove();
    if (old) old.replaceWith(row);
    else list.prepend(row);
  };
  return panel;
}

// -- the list ---------------------------------------------------------------------

function scheduleText(t) {
  if (t.trigger_type === 'once') return t.run_at ? `Once, ${new Date(t.run_at).toLocaleString()}` : 'Once';
  if (t.trigger_type === 'event') return 'When its trigger URL is called';
  return `${t.schedule} · ${t.timezone || 'UTC'}`;
}

function taskCard(task, { showAgent, onChanged, onDeleted }) {
  const card = el('article', { class: 'task card', testid: 'task-row', 'data-task-id': task.id });
  const runs = runsPanel(task);
  const runsToggle = el('details', { class: 'runs-toggle' }, el('summary', { testid: 'task-runs-toggle', text: 'Runs' }), runs);
  runsToggle.addEventListener('toggle', () => { if (runsToggle.open) runs.load(); });

  const draw = (t) => {
    task = t;
    const enabled = el('input', { type: 'checkbox', role: 'switch', testid: 'task-enabled', id: `en-${t.id}` });
    enabled.checked = t.enabled;
    enabled.addEventListener('change', async () => {
      try {
        draw(await api.updateTask(t.id, { enabled: enabled.checked }));
      } catch (err) {
        enabled.checked = !enabled.checked;
        toast(err.detail, 'error');
      }
    });
    const run = el('button', { type: 'button', class: 'btn small', testid: 'task-run', text: 'Run now' });
    run.addEventListener('click', () => busy(run, async () => {
      await api.runTask(t.id);
      toast(`“${t.name}” started.`);
      runsToggle.open = true;
      runs.load();
    }));
    const edit = el('button', { type: 'button', class: 'btn small', testid: 'task-edit', text: 'Edit' });
    edit.addEventListener('click', () => openTaskForm({ task, onSaved: (saved) => { draw(saved); onChanged?.(); } }));
    const del = el('button', { type: 'button', class: 'btn small danger', testid: 'task-delete', text: 'Delete' });
    del.addEventListener('click', async () => {
      if (!await confirmDialog({ title: `Delete “${t.name}”?`, message: 'The task stops running and its trigger URL stops working.', confirmLabel: 'Delete', danger: true })) return;
      busy(del, async () => { await api.deleteTask(t.id); card.remove(); onDeleted?.(t); });
    });

    const when = [];
    if (t.next_run_at) when.push(el('span', {}, 'Next ', el('time', { datetime: t.next_run_at, title: t.next_run_at, text: relTime(t.next_run_at) })));
    if (t.last_run_at) when.push(el('span', {}, 'Last ', el('time', { datetime: t.last_run_at, title: t.last_run_at, text: relTime(t.last_run_at) })));

    keepFocus(card, () => setChildren(card, 
      el('header', { class: 'task-head' },
        el('h3', { class: 'task-name', text: t.name }),
        el('span', { class: `chip kind-${t.trigger_type}`, text: t.trigger_type }),
        t.enabled ? null : el('span', { class: 'chip subtle', text: 'disabled' }),
        showAgent ? el('a', { href: `#/agents/${t.agent_id}/tasks`, class: 'muted', text: agentName(t.agent_id) }) : null),
      el('p', { class: 'task-schedule mono', testid: 'task-schedule', text: scheduleText(t) }),
      when.length ? el('p', { class: 'task-when muted' }, when) : null,
      el('details', { class: 'prompt' }, el('summary', { text: 'Prompt' }), el('p', { class: 'prompt-text', text: t.prompt })),
      t.trigger_url ? el('div', { class: 'trigger' },
        copyField('Trigger URL (keep it secret: it needs no credentials)', absoluteUrl(t.trigger_url), 'trigger-url'),
        copyBlock('Try it:', triggerCurl(absoluteUrl(t.trigger_url)), 'trigger-curl')) : null,
      el('div', { class: 'task-actions' },
        el('label', { class: 'switch', for: `en-${t.id}` }, enabled, el('span', { text: 'Enabled' })),
        run, edit, del),
      runsToggle));
  };
  draw(task);
  card.update = draw;
  card.runs = runs;
  card.runsOpen = () => runsToggle.open;
  return card;
}

export function mountTasks(root, { agentId } = {}) {
  const filter = el('select', { testid: 'tasks-agent' });
  const list = el('div', { class: 'card-list', testid: 'task-list' });
  const create = el('button', { type: 'button', class: 'btn primary', testid: 'create-task', text: '+ New task' });
  const cards = new Map();
  let gen = 0;

  const currentAgent = () => agentId || filter.value || null;
  const load = async () => {
    const mine = ++gen;
    try {
      const tasks = await api.tasks({ agent_id: currentAgent() || undefined, limit: 200 });
      if (mine !== gen) return;
      clear(list);
      cards.clear();
      for (const t of tasks) add(t, false);
      if (!tasks.length) list.append(el('p', { class: 'empty', text: 'No tasks yet. Tasks wake an agent on a schedule, once, or when a URL is called.' }));
    } catch (err) {
      if (mine === gen) setChildren(list, el('p', { class: 'form-error', text: err.detail }));
    }
  };
  const add = (t, first = true) => {
    list.querySelector('.empty')?.remove();
    const card = taskCard(t, { showAgent: !agentId, onDeleted: () => cards.delete(t.id) });
    cards.set(t.id, card);
    if (first) list.prepend(card);
    else list.append(card);
  };

  create.addEventListener('click', () => {
    if (!sortedAgents().some((a) => a.type !== 'approval_only')) { toast('Create an interactive agent first.', 'error'); return; }
    openTaskForm({ agentId: currentAgent(), onSaved: (t) => { if (!currentAgent() || t.agent_id === currentAgent()) add(t); } });
  });
  if (!agentId) {
    setChildren(filter, el('option', { value: '', text: 'All agents' }), sortedAgents().map((a) => el('option', { value: a.id, text: a.name })));
    filter.addEventListener('change', load);
  }
  if (agentId && store.agents.get(agentId)?.type === 'approval_only') {
    setChildren(root, el('div', { class: 'page' }, el('p', { class: 'notice', text: 'Approval-only agents have no tasks.' })));
    return { destroy() {} };
  }

  setChildren(root, el('div', { class: 'page scroll-pane' },
    el('header', { class: 'page-head' },
      agentId ? el('h2', { class: 'sr-only', text: 'Tasks' }) : el('h1', { text: 'Tasks' }),
      el('div', { class: 'filters' }, agentId ? null : field('Agent', filter), create)),
    list));
  load();

  const refreshTask = debounce(async (id) => {
    try {
      const t = await api.tasks({ agent_id: currentAgent() || undefined, limit: 200 });
      for (const task of t) cards.get(task.id)?.update(task);
    } catch { /* the next frame or refresh will do */ }
  }, 300);

  return {
    onFrame(f) {
      if (f.type !== 'task_run' || !f.run) return;
      const card = cards.get(f.run.task_id);
      if (!card) return;
      if (card.runsOpen()) card.runs.upsert(f.run);
      refreshTask(f.run.task_id);
    },
    refresh: load,
    destroy() {},
  };
}
