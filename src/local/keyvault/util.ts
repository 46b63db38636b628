/** Small helpers shared by the emulator's modules. */

/** A copy of `value` without the properties whose value is undefined (so spreading it does not erase defaults). */
export function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
