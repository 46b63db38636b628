/**
 * Emulator state on disk: one JSON file per emulator in its state folder, written atomically (temp file + rename)
 * with owner-only permissions, because seeded state may hold passwords and private keys.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function readStateFile<T>(dir: string | undefined, file: string): Promise<T | undefined> {
  if (!dir) return undefined;
  let text: string;
  try {
    text = await readFile(join(dir, file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`State file ${join(dir, file)} is not valid JSON: ${(err as Error).message}`);
  }
}

export async function writeStateFile(dir: string | undefined, file: string, state: unknown): Promise<void> {
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  const target = join(dir, file);
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(state, null, 2), { mode: 0o600 });
  await rename(temp, target);
}
