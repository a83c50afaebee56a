// The configuration is shared by every module for the life of the process; freezing it makes an accidental
// write throw (ES modules are strict mode) instead of changing behaviour somewhere else.

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
