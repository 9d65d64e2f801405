import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { EndOfTurnWrites } from './end-of-turn-writes';

describe('EndOfTurnWrites', () => {
  it('runs nothing at once, then every queued write in order once the current turn is over', async () => {
    const written: number[] = [];
    const writes = new EndOfTurnWrites<number>((item) => written.push(item), () => undefined);
    writes.add(1);
    writes.add(2);
    writes.add(3);
    expect(written).toEqual([]);
    await new Promise((done) => setImmediate(done));
    expect(written).toEqual([1, 2, 3]);
  });

  it('hands a write that throws to fail, and still runs the others of its turn', async () => {
    const written: string[] = [];
    const failed: Array<[string, string]> = [];
    const writes = new EndOfTurnWrites<string>(
      (item) => {
        if (item === 'bad') throw new Error('no socket');
        written.push(item);
      },
      (item, error) => failed.push([item, (error as Error).message]),
    );
    for (const item of ['a', 'bad', 'b']) writes.add(item);
    await new Promise((done) => setImmediate(done));
    expect(written).toEqual(['a', 'b']);
    expect(failed).toEqual([['bad', 'no socket']]);
  });

  it('leaves a write queued by a write of this turn to the next turn', async () => {
    const written: string[] = [];
    const writes: EndOfTurnWrites<string> = new EndOfTurnWrites<string>(
      (item) => {
        written.push(item);
        if (item === 'first') writes.add('queued by first');
      },
      () => undefined,
    );
    writes.add('first');
    const nextTurn = () => new Promise((done) => setImmediate(done));
    await nextTurn();
    expect(written).toEqual(['first']);
    await nextTurn();
    expect(written).toEqual(['first', 'queued by first']);
  });

  it('writes the answers to requests read in one turn after all of them were read, then together', async () => {
    // Three connections whose requests arrive before the server looks: the poll phase reads all three in one turn.
    const order: string[] = [];
    const writes = new EndOfTurnWrites<Socket>((socket) => {
      order.push('write');
      socket.end('answer');
    }, () => undefined);
    let accepted = 0;
    const server: Server = createServer((socket) => {
      accepted++;
      socket.once('data', () => {
        order.push('read');
        writes.add(socket);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const clients = await Promise.all([0, 1, 2].map(() => open(port)));
      while (accepted < 3) await new Promise((done) => setImmediate(done));
      // Keep the event loop busy while all three requests land, so its next poll finds them all readable at once.
      for (const client of clients) client.write('request');
      const until = Date.now() + 50;
      while (Date.now() < until);
      const answers = await Promise.all(clients.map((client) => readAll(client)));
      expect(answers).toEqual(['answer', 'answer', 'answer']);
      expect(order).toEqual(['read', 'read', 'read', 'write', 'write', 'write']);
    } finally {
      server.close();
    }
  });
});

async function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

function readAll(socket: Socket): Promise<string> {
  return new Promise((done) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () => done(text));
  });
}
