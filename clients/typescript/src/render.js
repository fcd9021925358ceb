// @ts-check
// Events delivered to the agent (API.md A4) as a model reads them: a short
// text and string-valued metadata (the ids it needs to answer), the shape
// of a Claude Code channel notification.

const MAX_PAYLOAD = 8000;

function bounded(text, max) {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

function absolute(base, url) {
  if (!url || !base) return url;
  try {
    return new URL(url, base + '/').href;
  } catch {
    return url;
  }
}

/**
 * @param {any} event an A4 event
 * @param {string} [base] the server URL, for relative media links
 * @returns {{content: string, meta: Record<string, string>}}
 */
export function renderEvent(event, base) {
  /** @type {Record<string, string>} */
  const meta = { event: String(event.type), event_id: String(event.event_id ?? ''), seq: String(event.seq ?? '') };
  const put = (key, value) => {
    if (value !== undefined && value !== null && value !== '') meta[key] = String(value);
  };
  let content;
  switch (event.type) {
    case 'user_message': {
      put('message_id', event.message_id);
      put('conversation_id', event.conversation_id);
      put('sender', event.sender_name);
      put('reply_to_id', event.reply_to_id);
      const parts = [event.text ?? ''];
      if (event.reply_to_text) parts.unshift(`(replying to: "${bounded(event.reply_to_text, 300)}")`);
      const images = event.image_urls?.length ? event.image_urls : event.image_url ? [event.image_url] : [];
      for (const url of images) parts.push(`[image: ${absolute(base, url)}]`);
      if (event.audio_url) parts.push(`[audio: ${absolute(base, event.audio_url)}]`);
      content = parts.filter(Boolean).join('\n');
      break;
    }
    case 'decision_resolved': {
      put('decision_id', event.decision_id);
      put('status', event.status);
      put('conversation_id', event.conversation_id);
      put('task_run_id', event.task_run_id);
      content = `Decision ${event.decision_id} was ${event.status}`;
      if (event.note) content += `: ${event.note}`;
      if (event.always_allow) content += ` (always allow: ${event.always_allow_pattern ?? 'yes'})`;
      break;
    }
    case 'task_due': {
      put('task_id', event.task_id);
      put('run_id', event.run_id);
      content = `Task "${event.task_name}" is due (run ${event.run_id}).\n\n${event.task_prompt ?? ''}`;
      break;
    }
    case 'task_trigger': {
      put('task_id', event.task_id);
      put('run_id', event.run_id);
      const payload =
        typeof event.payload === 'string' ? event.payload : JSON.stringify(event.payload ?? null, null, 2);
      content =
        `Task "${event.task_name}" was triggered (run ${event.run_id}, received ${event.received_at}).\n\n` +
        `${event.task_prompt ?? ''}\n\nPayload:\n${bounded(payload, MAX_PAYLOAD)}`;
      break;
    }
    default:
      content = bounded(JSON.stringify(event), MAX_PAYLOAD);
  }
  return { content, meta };
}
