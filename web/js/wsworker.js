// The WebSocket and its JSON parsing run in this worker, off the page's main thread; the page gets
// parsed messages. Commands from the page: {cmd: 'connect', url} and {cmd: 'close'}.
let ws = null;

self.onmessage = (ev) => {
  const d = ev.data || {};
  if (d.cmd === 'close') {
    if (ws) ws.close();
    return;
  }
  if (d.cmd !== 'connect') return;
  let sock;
  try {
    sock = new WebSocket(d.url);
  } catch {
    self.postMessage({ ev: 'close', code: 1006 });
    return;
  }
  ws = sock;
  sock.onopen = () => self.postMessage({ ev: 'open' });
  sock.onmessage = (m) => {
    let msg;
    try {
      msg = JSON.parse(m.data);
    } catch {
      self.postMessage({ ev: 'bad' });
      return;
    }
    self.postMessage({ ev: 'msg', msg });
  };
  sock.onclose = (c) => {
    if (ws === sock) ws = null;
    self.postMessage({ ev: 'close', code: c.code });
  };
};
