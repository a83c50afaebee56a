// The reference row: the least a CONNECT relay can be in Node. Parse the request head, dial, answer 200,
// pipe both ways; no policy, no logging, no timeouts. NAME=ADDRESS maps the benchmark's target name to the
// origin, as the other proxies' host mapping does. Prints its port on the first line of its output.
//   node dist/bench/pipe-relay.js NAME=ADDRESS

import { connect, createServer, type AddressInfo } from 'node:net';

const [mappedName, mappedAddress] = (process.argv[2] ?? '').split('=');

const server = createServer((client) => {
  let head = '';
  client.on('data', function onHead(chunk: Buffer) {
    head += chunk.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) return;
    client.off('data', onHead);
    client.pause();
    const [host = '', port = '443'] = (head.split(' ')[1] ?? '').split(':');
    const upstream = connect({ host: host === mappedName ? mappedAddress : host, port: Number(port) }, () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      const rest = Buffer.from(head.slice(end + 4), 'latin1');
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream).pipe(client);
    });
    upstream.on('error', () => client.destroy());
  });
  client.on('error', () => client.destroy());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
