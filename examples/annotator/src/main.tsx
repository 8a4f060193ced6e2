// The annotator: a list of images with labels, on tidemark's browser SDK (the packed @tidemark/client, nothing else
// of tidemark). Everything a person does is written to the local replica first (IndexedDB), shows at once with its
// sync status, and is synced when the gateway can be reached — in one tab at a time, whatever the number of tabs.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import {
  CREDENTIALS_KEY,
  IndexedDbBlobCache,
  IndexedDbStorage,
  ServerUnavailableError,
  TidemarkClient,
  type DeviceCredentials,
  type Divergence,
  type EntityRead,
  type UploadProgress,
} from '@tidemark/client';
import { useQuery } from '@tidemark/client/react';

/** What the example's server tells the page (`GET /config.json`). */
interface Config {
  gateway: string;
  assets: string;
  /** Bytes per tus PATCH (the SDK's default when absent). */
  chunkSize?: number;
}

/** The device's IndexedDB names: its storage (`tidemark:annotator`) and its asset cache (`tidemark-blobs:annotator`). */
const STORAGE_NAME = 'annotator';

/**
 * Opens this browser's device. The first time (no credentials in the storage yet) the page asks the app's own server
 * for an enrolment — the server holds the admin token, the page never sees it; afterwards the SDK keeps and rotates
 * the tokens in the storage.
 */
async function openDevice(config: Config): Promise<TidemarkClient> {
  const storage = await IndexedDbStorage.open(STORAGE_NAME);
  let credentials: DeviceCredentials | undefined;
  if ((await storage.get(CREDENTIALS_KEY)) === undefined) {
    const answer = await fetch('/api/devices', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: navigator.userAgent.slice(0, 100) }) });
    if (!answer.ok) throw new Error(`could not enrol this browser: ${answer.status} ${await answer.text()}`);
    credentials = (await answer.json()) as DeviceCredentials;
  }
  const client = await TidemarkClient.open({
    baseUrl: config.gateway,
    storage,
    ...(credentials ? { credentials } : {}),
    tabs: 'auto',
    retry: { initialDelayMs: 250, maxDelayMs: 5_000 },
    assets: { baseUrl: config.assets, cache: await IndexedDbBlobCache.open(STORAGE_NAME), prefetch: ['image'], ...(config.chunkSize ? { chunkSize: config.chunkSize } : {}) },
  });
  client.start({ live: true });
  return client;
}

function App() {
  const [client, setClient] = useState<TidemarkClient>();
  const [failure, setFailure] = useState<string>();
  useEffect(() => {
    let gone = false;
    const opening = fetch('/config.json')
      .then((answer) => answer.json() as Promise<Config>)
      .then(openDevice);
    opening.then(
      (c) => (gone ? void c.close() : setClient(c)),
      (error: unknown) => setFailure(String(error)),
    );
    return () => {
      gone = true;
      void opening.then(
        (c) => c.close(),
        () => undefined,
      );
    };
  }, []);
  if (failure) return <p className="notice">{failure}</p>;
  if (!client) return <p className="muted">Opening the local replica…</p>;
  return <Annotator client={client} />;
}

/** Whether the last sync attempt reached the gateway (and why not), from the SDK's events and the browser's. */
function useLink(client: TidemarkClient): { online: boolean; why?: string } {
  const [link, setLink] = useState<{ online: boolean; why?: string }>({ online: navigator.onLine });
  useEffect(() => {
    const up = () => setLink({ online: true });
    const offs = [
      client.on('pushed', up),
      client.on('change', up),
      client.on('receipt', up),
      client.on('error', (error) => {
        if (error instanceof ServerUnavailableError) setLink({ online: false, why: error.message });
      }),
    ];
    const down = () => setLink({ online: false, why: 'the browser is offline' });
    window.addEventListener('online', up);
    window.addEventListener('offline', down);
    return () => {
      for (const off of offs) off();
      window.removeEventListener('online', up);
      window.removeEventListener('offline', down);
    };
  }, [client]);
  return link;
}

/** Every attached file's upload, by sha256. */
function useUploads(client: TidemarkClient): Map<string, UploadProgress> {
  const [uploads, setUploads] = useState(() => new Map(client.uploads().map((u) => [u.sha256, u])));
  useEffect(() => client.on('upload', () => setUploads(new Map(client.uploads().map((u) => [u.sha256, u])))), [client]);
  return uploads;
}

function Annotator({ client }: { client: TidemarkClient }) {
  const images = useQuery(client, { type: 'annotation', orderBy: '$id' });
  const link = useLink(client);
  const uploads = useUploads(client);
  const [notices, setNotices] = useState<string[]>([]);
  useEffect(
    () =>
      client.on('diverged', (d: Divergence) =>
        setNotices((list) => [`${d.entity?.id ?? 'an image'}: the server settled ${d.fields.join(', ')} otherwise than shown here (${d.reason})`, ...list].slice(0, 3)),
      ),
    [client],
  );
  const pending = client.pending().length;
  return (
    <>
      <header>
        <h1>tidemark annotator</h1>
        <span className="pill" data-testid="device">
          device {client.deviceId}
        </span>
        <span className={link.online ? 'pill' : 'pill offline'} data-testid="link" title={link.why}>
          {link.online ? 'online' : 'offline'}
        </span>
        <span className="pill" data-testid="outbox">
          {pending === 0 ? 'all synced' : `${pending} to sync`}
        </span>
      </header>
      <main>
        {notices.map((notice) => (
          <p key={notice} className="notice" data-testid="notice">
            {notice}
          </p>
        ))}
        <AddImage client={client} />
        <ul className="images">
          {images.map((image) => (
            <ImageRow key={image.id} client={client} image={image} upload={uploadOf(image, uploads)} />
          ))}
        </ul>
        {images.length === 0 && <p className="muted">No images yet: add one above. Open this page in a second browser to see it sync.</p>}
      </main>
    </>
  );
}

function uploadOf(image: EntityRead, uploads: Map<string, UploadProgress>): UploadProgress | undefined {
  const sha = image.values.assetId;
  return typeof sha === 'string' ? uploads.get(sha) : undefined;
}

function AddImage({ client }: { client: TidemarkClient }) {
  const form = useRef<HTMLFormElement>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const label = String(data.get('label') ?? '').trim();
    const file = data.get('file');
    if (!label) return;
    setBusy(true);
    try {
      const id = `img-${crypto.randomUUID().slice(0, 8)}`;
      await client.upsert('annotation', id, { label });
      // hashed here, kept in the asset cache, linked to the record at once, uploaded (resumably) when online
      if (file instanceof File && file.size > 0) await client.attach({ type: 'annotation', id }, 'assetId', file);
      form.current?.reset();
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="add" ref={form} onSubmit={(event) => void submit(event)}>
      <input type="file" name="file" accept="image/*" aria-label="image file" />
      <input type="text" name="label" placeholder="label" aria-label="new label" required />
      <button type="submit" disabled={busy}>
        Add image
      </button>
    </form>
  );
}

function ImageRow({ client, image, upload }: { client: TidemarkClient; image: EntityRead; upload: UploadProgress | undefined }) {
  const label = typeof image.values.label === 'string' ? image.values.label : '';
  const draft = useRef<HTMLInputElement>(null);
  const [problem, setProblem] = useState<string>();
  const save = async () => {
    const value = draft.current?.value.trim();
    if (value && value !== label) await client.upsert('annotation', image.id, { label: value });
  };
  const resolve = async (conflictId: string, pick: 'ours' | 'theirs') => {
    setProblem(undefined);
    try {
      await client.resolve(conflictId, pick);
    } catch (error) {
      setProblem(`could not resolve: ${String(error)}`);
    }
  };
  return (
    <li className="image" data-id={image.id}>
      <Thumbnail client={client} image={image} upload={upload} />
      <div>
        <div>
          <strong data-testid="label">{label}</strong>{' '}
          <span className={`status ${image.status}`} data-testid="status">
            {image.status}
          </span>
        </div>
        <p>
          {/* keyed by the shown label: a label that changed (here, in another tab or device) resets the field */}
          <input key={label} ref={draft} defaultValue={label} aria-label="label" />{' '}
          <button type="button" onClick={() => void save()}>
            Save
          </button>
        </p>
        {image.conflicts.map((conflict) => (
          <div className="conflict" key={conflict.id} data-testid="conflict">
            <p>Two devices changed the {conflict.field} at once. Which one stays?</p>
            <button type="button" onClick={() => void resolve(conflict.id, 'ours')}>
              Keep “{String(conflict.ours.value)}” ({conflict.ours.deviceId})
            </button>
            <button type="button" onClick={() => void resolve(conflict.id, 'theirs')}>
              Keep “{String(conflict.theirs.value)}” ({conflict.theirs.deviceId})
            </button>
          </div>
        ))}
        {problem && <p className="notice">{problem}</p>}
      </div>
    </li>
  );
}

/**
 * The image from the asset cache, or where its upload stands. Another device's image is downloaded once its bytes
 * are on the server: until then the download fails and is tried again, a little later each time (up to 10 s).
 */
function Thumbnail({ client, image, upload }: { client: TidemarkClient; image: EntityRead; upload: UploadProgress | undefined }) {
  const sha = typeof image.values.assetId === 'string' ? image.values.assetId : undefined;
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    if (!sha) return;
    let made: string | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let live = true;
    const load = (delayMs: number) =>
      client.assets.get(sha).then(
        (blob) => {
          if (live) setUrl((made = URL.createObjectURL(blob)));
        },
        () => {
          if (live) timer = setTimeout(() => void load(Math.min(delayMs * 2, 10_000)), delayMs);
        },
      );
    void load(500);
    return () => {
      live = false;
      clearTimeout(timer);
      if (made) URL.revokeObjectURL(made);
    };
  }, [client, sha]);
  let caption: string | undefined;
  if (upload && upload.status !== 'verified')
    caption = upload.status === 'failed' ? `upload failed: ${upload.error?.message ?? ''}` : `waiting for upload ${Math.floor((100 * upload.bytesSent) / Math.max(upload.bytesTotal, 1))}%`;
  return (
    <div className="thumb" data-testid="thumb" data-upload={upload?.status ?? ''}>
      {url ? <img src={url} alt={String(image.values.label ?? '')} /> : <span>{caption ?? (sha ? 'downloading…' : 'no image')}</span>}
      {url && caption && <span className="muted">{caption}</span>}
    </div>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
