// An immutable index of non-overlapping [start, start + size) ranges keyed by bigint start.
// It is a treap with path copying: insert, remove and lookups are O(log n) expected, and every
// version stays valid after an update, so a projected state can be kept for each event without
// copying whole mapping tables. Priorities are a hash of the key, so the same set of ranges
// always gives the same tree, whatever the order of inserts (deterministic and pure).

export interface IndexedRange<V> {
  readonly start: bigint;
  readonly size: bigint;
  readonly value: V;
}

interface Node<V> extends IndexedRange<V> {
  readonly priority: number;
  readonly left: Node<V> | null;
  readonly right: Node<V> | null;
}

function priorityOf(key: bigint): number {
  // murmur3 fmix32 over both halves of the key
  let h = Number(BigInt.asUintN(32, key)) ^ Math.imul(Number(BigInt.asUintN(32, key >> 32n)), 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function withChildren<V>(node: Node<V>, left: Node<V> | null, right: Node<V> | null): Node<V> {
  return { start: node.start, size: node.size, value: node.value, priority: node.priority, left, right };
}

/** Splits into keys < key and keys >= key. */
function split<V>(node: Node<V> | null, key: bigint): [Node<V> | null, Node<V> | null] {
  if (node === null) return [null, null];
  if (node.start < key) {
    const [l, r] = split(node.right, key);
    return [withChildren(node, node.left, l), r];
  }
  const [l, r] = split(node.left, key);
  return [l, withChildren(node, r, node.right)];
}

/**
 * Adds a node whose key is not in the tree: down the search path until the new node's priority
 * wins, then it takes that subtree split around its key. Only the path is copied.
 */
function insertNode<V>(node: Node<V> | null, fresh: Node<V>): Node<V> {
  if (node === null) return fresh;
  if (fresh.priority > node.priority) {
    const [left, right] = split(node, fresh.start);
    return withChildren(fresh, left, right);
  }
  return fresh.start < node.start
    ? withChildren(node, insertNode(node.left, fresh), node.right)
    : withChildren(node, node.left, insertNode(node.right, fresh));
}

/** Joins two treaps where every key of `a` is below every key of `b`. */
function merge<V>(a: Node<V> | null, b: Node<V> | null): Node<V> | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a.priority >= b.priority) return withChildren(a, a.left, merge(a.right, b));
  return withChildren(b, merge(a, b.left), b.right);
}

export class RangeIndex<V> {
  private constructor(
    private readonly root: Node<V> | null,
    readonly count: number,
  ) {}

  static empty<V>(): RangeIndex<V> {
    return new RangeIndex<V>(null, 0);
  }

  /** The range with the largest start <= address. */
  floor(address: bigint): IndexedRange<V> | undefined {
    let node = this.root;
    let best: Node<V> | undefined;
    while (node !== null) {
      if (node.start <= address) {
        best = node;
        node = node.right;
      } else {
        node = node.left;
      }
    }
    return best;
  }

  /** The range that contains address, if any. */
  containing(address: bigint): IndexedRange<V> | undefined {
    const candidate = this.floor(address);
    return candidate !== undefined && address - candidate.start < candidate.size ? candidate : undefined;
  }

  /**
   * A range that overlaps [start, start + size), if any. Because stored ranges never overlap, the
   * one with the largest start below the end of the query is the only candidate worth checking.
   */
  overlapping(start: bigint, size: bigint): IndexedRange<V> | undefined {
    const candidate = this.floor(start + size - 1n);
    return candidate !== undefined && candidate.start + candidate.size > start ? candidate : undefined;
  }

  /** The range that starts exactly at start. */
  at(start: bigint): IndexedRange<V> | undefined {
    const candidate = this.floor(start);
    return candidate?.start === start ? candidate : undefined;
  }

  /** A new index with the range added. The caller guarantees it overlaps nothing (see overlapping). */
  insert(start: bigint, size: bigint, value: V): RangeIndex<V> {
    const base = this.remove(start); // a range at the same start is replaced
    const node: Node<V> = { start, size, value, priority: priorityOf(start), left: null, right: null };
    return new RangeIndex(insertNode(base.root, node), base.count + 1);
  }

  /** A new index without the range that starts at start (unchanged when there is none). */
  remove(start: bigint): RangeIndex<V> {
    if (this.at(start) === undefined) return this;
    const [below, rest] = split(this.root, start);
    const [, above] = split(rest, start + 1n);
    return new RangeIndex(merge(below, above), this.count - 1);
  }

  /** All ranges in address order. */
  *ranges(): IterableIterator<IndexedRange<V>> {
    const stack: Node<V>[] = [];
    let node = this.root;
    while (node !== null || stack.length > 0) {
      while (node !== null) {
        stack.push(node);
        node = node.left;
      }
      const top = stack.pop()!;
      yield top;
      node = top.right;
    }
  }
}
