// A QuickEats webhook receiver: verifies the signature, ignores replays of an event it already handled.
// Run: WEBHOOK_SECRET=whsec_… PORT=8080 node docs/webhook-receiver.mjs   (no dependencies)
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const secret = process.env.WEBHOOK_SECRET;
const seen = new Set(); // use a table with a unique event id in production: deliveries are at least once

function verified(header = '', body) {
  const { t, v1 } = Object.fromEntries(header.split(',').map((part) => part.split('=')));
  if (!t || !v1 || Math.abs(Date.now() / 1000 - Number(t)) > 300) return false; // refuse old replays
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const given = Buffer.from(v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

createServer((req, res) => {
  let body = '';
  req
    .setEncoding('utf8')
    .on('data', (chunk) => (body += chunk))
    .on('end', () => {
      if (!verified(req.headers['quickeats-signature'], body)) return res.writeHead(400).end('bad signature');
      const event = JSON.parse(body);
      if (!seen.has(event.id)) {
        seen.add(event.id);
        console.log(`${event.id} ${event.type} order ${event.data.order.id} v${event.data.order.version}`);
      }
      res.writeHead(200).end(); // answer 2xx within 10 s; do slow work after answering
    });
}).listen(Number(process.env.PORT ?? 8080), () => console.log('listening'));
