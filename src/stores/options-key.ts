// The key under which the registry shares a store (and the size cache an entry): two option objects share
// one only when they configure the same thing. Plain data counts by value; a function (a credential
// provider) or an object made by a class (an SDK client, an agent) by identity, because JSON would drop
// the one and flatten the other, and two different providers would silently share the first one's store.
const ids = new WeakMap<object, number>();
let nextId = 0;

function identity(v: object): string {
  let id = ids.get(v);
  if (id === undefined) ids.set(v, (id = ++nextId));
  return `\u0000#${id}`;
}

export function optionsKey(options: unknown): string {
  return JSON.stringify(options ?? {}, (_k, v: unknown) => {
    if (typeof v === 'function') return identity(v);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return identity(v);
    }
    return v;
  });
}
