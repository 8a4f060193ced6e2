import { readFileSync } from 'node:fs';
import { which } from './which';

/** The Python interpreter the Debian swift scripts use (their shebang), falling back to /usr/bin/python3. */
export function swiftPython(): string {
  const script = which('swift-proxy-server');
  if (script) {
    const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(readFileSync(script, 'utf8').slice(0, 200));
    if (shebang?.[1]) {
      if (shebang[1].endsWith('/env') && shebang[2]) return which(shebang[2]) ?? shebang[2];
      return shebang[1];
    }
  }
  return '/usr/bin/python3';
}

/**
 * Environment for the Python servers: unbuffered output so log tails are current, no foreign PYTHONPATH,
 * and eventlet's green DNS resolver off (every address here is an IP; importing it costs ~0.3 s per process).
 */
export function swiftPythonEnv(): NodeJS.ProcessEnv {
  const { PYTHONPATH: _path, PYTHONHOME: _home, ...env } = process.env;
  return { ...env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', EVENTLET_NO_GREENDNS: 'yes' };
}
