import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage, StorageLockedError } from './file-storage';
import { storageContract } from './contract';
import { MemoryStorage } from './storage';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tidemark-client-storage-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

// The contract every Storage driver keeps (src/storage/contract.ts), run against each driver of Node; the browser's
// IndexedDbStorage runs the same cases in Chromium (indexeddb-storage.int.spec.ts).
describe('Storage contract: MemoryStorage', () => {
  storageContract({ create: async () => new MemoryStorage(), reopen: async (previous) => previous }, it);
});
describe('Storage contract: FileStorage', () => {
  storageContract({ create: async () => FileStorage.open(await tempDir()), reopen: (previous) => FileStorage.open((previous as FileStorage).dir) }, it);
});

describe('FileStorage', () => {
  it('keeps what was written across a reopen, one file per key', async () => {
    const dir = await tempDir();
    const first = await FileStorage.open(dir);
    await first.put('outbox/0000000000000001', '{"v":1}');
    await first.put('meta', '{"deviceId":"d"}');
    await first.close();
    assert.deepEqual((await readdir(dir)).sort(), ['meta', 'outbox%2F0000000000000001']);
    const second = await FileStorage.open(dir);
    assert.deepEqual(await second.list(''), ['meta', 'outbox/0000000000000001']);
    assert.equal(await second.get('outbox/0000000000000001'), '{"v":1}');
    await second.close();
  });

  it('ignores and removes a torn temp file left by a crash in the middle of a put', async () => {
    const dir = await tempDir();
    const storage = await FileStorage.open(dir);
    await storage.put('meta', '{"lastSeq":1}');
    await storage.close();
    // A crash after the temp file was written halfway and before the rename: the key keeps its old value.
    await writeFile(join(dir, '.tmp-meta-0123456789ab'), '{"lastSe');
    await writeFile(join(dir, '.tmp-outbox%2F0000000000000002-ba9876543210'), '{"v":1,"ev');
    const reopened = await FileStorage.open(dir);
    assert.equal(await reopened.get('meta'), '{"lastSeq":1}');
    assert.deepEqual(await reopened.list(''), ['meta']);
    assert.deepEqual(await readdir(dir), ['.lock', 'meta'], 'temp files are removed at open');
    await reopened.close();
  });

  it('never shows a partial value while puts race (rename is atomic)', async () => {
    const storage = await FileStorage.open(await tempDir());
    const values = Array.from({ length: 20 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(10_000 + i) }));
    const reads: Promise<void>[] = [];
    await Promise.all(
      values.map(async (value) => {
        await storage.put('meta', value);
        reads.push(storage.get('meta').then((read) => assert.ok(read !== undefined && values.includes(read), 'a whole value, never a torn one')));
      }),
    );
    await Promise.all(reads);
    assert.ok(values.includes((await storage.get('meta'))!));
    await storage.close();
  });

  it('locks its directory to one owner; a lock left by a dead process is taken over', async () => {
    const dir = await tempDir();
    const storage = await FileStorage.open(dir);
    await assert.rejects(FileStorage.open(dir), StorageLockedError);
    assert.equal(await readFile(join(dir, '.lock'), 'utf8'), String(process.pid));
    await storage.close();
    // Another live process holds it (the parent of this one stands in for a second client).
    await writeFile(join(dir, '.lock'), String(process.ppid));
    await assert.rejects(FileStorage.open(dir), (error: unknown) => error instanceof StorageLockedError && error.holderPid === process.ppid);
    // A process that held the directory and died (SIGKILL leaves its lock behind).
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await writeFile(join(dir, '.lock'), dead.stdout);
    const again = await FileStorage.open(dir);
    assert.equal(await readFile(join(dir, '.lock'), 'utf8'), String(process.pid));
    await again.close();
    await assert.rejects(again.get('meta'), /closed/);
  });
});
