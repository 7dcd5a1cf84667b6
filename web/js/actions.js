// What a person does to an alert: Acknowledge, Retract (with a reason), Add note, Hand over to an
// agency. Acknowledge and Retract go to POST /api/alerts/{id}/ack. A note and a hand-over are their own
// actions on a server with the "notes" feature (notes.js: /note, /handover; they do not acknowledge);
// on a server without it they are recorded as an acknowledgement carrying that note.
import { ackAlert, signedIn } from './api.js';
import { notesOn, notesOf, addNote, handOver } from './notes.js';
import { hasFeature, vocab } from './vocab.js';
import { el, fmtTime, eventMs } from './util.js';

const AGENCY = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const OPERATOR_KEY = 'mda.operator';

function operator() {
  const who = signedIn();
  if (who) return who.name;
  return window.localStorage.getItem(OPERATOR_KEY) || '';
}

// Every recorded action, oldest first: the history when the server keeps one, else the last ack.
export function ackHistory(a) {
  if (Array.isArray(a.acks) && a.acks.length) return a.acks;
  return a.ack && typeof a.ack === 'object' ? [a.ack] : [];
}

// Acknowledgements, retractions, notes and hand-overs of one alert, oldest first, each with who and when.
export function historyList(a) {
  const ol = el('ol', 'ack-history');
  ol.setAttribute('aria-label', 'Actions on this alert');
  const items = ackHistory(a).map((h) => ({
    ms: eventMs(h.at), cls: 'ack-entry', by: h.by, what: h.action === 'retract' ? 'retracted' : 'acknowledged', text: h.note,
  }));
  for (const n of notesOf(a.id)) {
    items.push({
      ms: eventMs(n.at), cls: 'ack-entry note-entry note-' + n.kind, by: n.by,
      what: n.kind === 'handover' ? 'handed over to ' + String(n.agency || '?') : 'added a note', text: n.text,
    });
  }
  items.sort((x, y) => (x.ms || 0) - (y.ms || 0));
  for (const h of items) {
    const li = el('li', h.cls);
    li.appendChild(el('span', 'ack-who', String(h.by || '?')));
    li.appendChild(el('span', 'muted', ' ' + h.what + ' · ' + fmtTime(h.ms, true)));
    if (h.text) li.appendChild(el('div', 'ack-note', String(h.text)));
    ol.appendChild(li);
  }
  return ol;
}

export function hasHistory(a) {
  return ackHistory(a).length > 0 || notesOf(a.id).length > 0;
}

// `options` ([{id, name}]) makes the field a choice among them instead of free text.
function field(form, label, cls, multiline, options) {
  const lab = el('label', 'act-field');
  lab.appendChild(el('span', null, label));
  let input;
  if (options && options.length) {
    input = el('select', cls);
    input.setAttribute('aria-label', label); // else the chosen option's text joins the label's name
    input.appendChild(new Option('Choose…', ''));
    for (const o of options) input.appendChild(new Option(o.name + ' (' + o.id + ')', o.id));
  } else {
    input = el(multiline ? 'textarea' : 'input', cls);
    if (!multiline) input.type = 'text';
    input.maxLength = 1500;
  }
  lab.appendChild(input);
  form.appendChild(lab);
  return input;
}

// An inline form under the buttons; `fields` lists [label, className, multiline, options].
function openForm(box, title, fields, submitText, onSubmit) {
  box.querySelector('form.act-form')?.remove();
  const form = el('form', 'act-form');
  form.setAttribute('aria-label', title);
  const inputs = [];
  if (!signedIn()) {
    const by = field(form, 'Your name', 'act-by', false);
    by.value = operator();
    by.autocomplete = 'name';
    inputs.push(by);
  }
  for (const [label, cls, multi, options] of fields) inputs.push(field(form, label, cls, multi, options));
  const err = el('div', 'act-error');
  err.setAttribute('role', 'alert');
  const go = el('button', 'act-submit', submitText);
  go.type = 'submit';
  const cancel = el('button', 'act-cancel', 'Cancel');
  cancel.type = 'button';
  cancel.addEventListener('click', () => form.remove());
  form.append(go, cancel, err);
  form.addEventListener('click', (ev) => ev.stopPropagation());
  form.addEventListener('keydown', (ev) => {
    ev.stopPropagation();
    if (ev.key === 'Escape') form.remove();
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const values = inputs.map((i) => i.value.trim());
    const by = signedIn() ? '' : values.shift();
    if (!signedIn()) {
      if (!by) {
        err.textContent = 'Say who you are.';
        return;
      }
      window.localStorage.setItem(OPERATOR_KEY, by);
    }
    try {
      const problem = await onSubmit(values, by);
      if (problem) {
        err.textContent = problem;
        return;
      }
      form.remove();
    } catch (e) {
      err.textContent = String(e.message || e);
    }
  });
  box.appendChild(form);
  (inputs[signedIn() ? 0 : (inputs[0].value ? 1 : 0)] || go).focus();
}

function button(text, onClick) {
  const b = el('button', 'act', text);
  b.type = 'button';
  b.addEventListener('click', (ev) => {
    ev.stopPropagation();
    onClick();
  });
  b.addEventListener('keydown', (ev) => ev.stopPropagation());
  return b;
}

// The action buttons for one alert; results arrive back as a new alert version over the WebSocket,
// and `onDone(doc)` is called with the server's answer at once.
export function actionBar(a, onDone) {
  const box = el('div', 'actions');
  // a retracted alert takes no more actions; a served replay's alerts are a recording's, not a watch's
  if (a.status === 'retracted' || hasFeature('replay_clock')) return box;
  const bar = el('div', 'act-bar');
  const send = async (action, note, by) => onDone(await ackAlert(a.id, action, note, by));
  bar.appendChild(button('Acknowledge', () => {
    if (signedIn()) {
      send('acknowledge', '', '').catch((e) => window.alert(e.message));
      return;
    }
    openForm(box, 'Acknowledge', [['Note (optional)', 'act-note', false]], 'Acknowledge',
      ([note], by) => send('acknowledge', note, by));
  }));
  bar.appendChild(button('Retract', () => openForm(box, 'Retract', [['Reason', 'act-reason', false]], 'Retract alert',
    async ([reason], by) => {
      if (!reason) return 'A retraction needs a reason.';
      await send('retract', reason, by);
      return '';
    })));
  bar.appendChild(button('Add note', () => openForm(box, 'Add note', [['Note', 'act-note', true]], 'Save note',
    async ([note], by) => {
      if (!note) return 'The note is empty.';
      if (notesOn()) await addNote(a.id, note);
      else await send('acknowledge', note, by);
      return '';
    })));
  // the routing's agencies when the server names them (the server refuses any other), else an id
  const agencyField = vocab.agencies.length
    ? ['Agency', 'act-agency', false, vocab.agencies]
    : ['Agency (id, e.g. jdf-coastguard)', 'act-agency', false];
  bar.appendChild(button('Hand over', () => openForm(box, 'Hand over to an agency',
    [agencyField, ['Note', 'act-note', false]], 'Hand over',
    async ([agency, note], by) => {
      if (vocab.agencies.length && !agency) return 'Choose the agency.';
      if (!AGENCY.test(agency)) return 'The agency id is lower-case letters, digits, - or _.';
      if (notesOn()) await handOver(a.id, agency, note);
      else await send('acknowledge', 'Handed over to ' + agency + (note ? ': ' + note : ''), by);
      return '';
    })));
  box.appendChild(bar);
  return box;
}
