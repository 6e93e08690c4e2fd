// Zero-latency fake of YCloud's tp/bind and register, in Node (the same answers as the Rust
// fake in fake-ycloud/). `node fake-ycloud.mjs PORT`; prints `listening on 127.0.0.1:PORT`.
// `cargo xtask bench` measures both fakes alone and uses the faster one as the upstream.
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);

function answer(path) {
  const parts = path.split('?')[0].split('/').filter(Boolean);
  const i = parts.indexOf('phoneNumbers');
  if (i >= 0) {
    const waba = parts[i + 1] ?? '0';
    const phone = parts[i + 2] ?? '0';
    return JSON.stringify({
      id: phone, phoneNumber: '+15550001111', displayPhoneNumber: '+1 555-000-1111', wabaId: waba,
      verifiedName: 'Bench Shop', qualityRating: 'GREEN', messagingLimit: 'TIER_250',
      codeVerificationStatus: 'VERIFIED', nameStatus: 'APPROVED', status: 'CONNECTED',
    });
  }
  const j = parts.indexOf('businessAccounts');
  const waba = j >= 0 ? parts[j + 1] ?? '0' : '0';
  return JSON.stringify({
    id: waba, name: 'Bench WABA', accountReviewStatus: 'APPROVED', paymentMethodAttached: true,
    currency: 'USD', timezoneId: '1',
  });
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const body = answer(req.url);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'ycloud-request-id': 'fake',
    });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
