"""B5 — Merkle build and update: replicalab against a bare hashlib loop, pymerkle and merkletools.

Workload (BENCHMARKS.md, row B5):

* **RFC 6962 build**: leaves ``b"key%07d=value%07d" % (i, i)`` for n = 100,000 and
  1,000,000. ``rfc6962_root`` against a bare hashlib loop doing the same 2n - 1 SHA-256
  calls (the floor; roots must be equal), pymerkle's ``InmemoryTree`` (RFC 6962 too:
  roots must be equal) and merkletools (no 0x00/0x01 prefixes, so its root is checked
  against the same loop without prefixes instead).
* **Keyspace build**: ``MerkleTree.build`` of ``{"key%07d": b"value%07d"}`` (fanout 16,
  depth ``suggested_depth(n)``) against a loop doing only its hashes: two per key, one
  per non-empty bucket, one per non-empty inner node (information: no peer has this tree).
* **Incremental update** of d in {1, 10, 1000} keys of the keyspace tree, against d·depth
  bare hashes of an inner node's size (1 + 32·16 bytes), the target's yardstick, in CPU time
  (median of interleaved rounds; the best-rounds ratio beside it). Shown:

  - **warm** (issue #20: "incremental update ≤ 1.5× the d·depth hashes it
    needs"): the update a replica makes. Each value's digest was computed once, when its item
    was written (``Item.digest()`` caches it on the item), so the update is given digests
    (``set_digest`` per key, or one batched ``update_digests``), and each key's place was cached
    by an earlier write. It hashes the bucket and the path: depth + 1 per key. The digests'
    cost is *not* hidden: the "digest per write" row times the d value hashes on their own.
  - **MerkleIndex, the target rows**: a replica updates its own :class:`MerkleIndex` between two
    snapshots (sync sessions): nodes it made are updated in place and stale inner nodes are hashed
    once when the root is read. Each round makes a fresh index of the tree and writes the batch's
    keys once (untimed: the steady state, paths owned); each timed batch is ``set_digest`` per key
    (or one ``update_digests``) *and reading the root*, which does the hashing. A third row takes a
    ``snapshot()`` after every batch instead (information): the freeze, and the copy of every
    path the next batch writes.
  - The same warm updates on the :class:`MerkleTree` value (``set_digest`` / ``update_digests``,
    each returning a new tree that copies its paths) stay as information rows.
  - **cold, for information** (the rows this benchmark had before): ``set`` / ``update`` given
    the values, with the key-place cache emptied before every batch (the clear is timed; about
    1 % at d = 1000), so the update hashes each key and each value itself: depth + 3 per key.

  Beside each row, "its hashes alone" times only the SHA-256 calls that row's single-key
  updates make (cold: key, value, leaf and depth nodes; warm: leaf and depth nodes), the floor
  under any implementation with this hashing. Hash calls are printed for information (counted
  exactly by wrapping the module's SHA-256 in one extra untimed run). The node cache that lets
  replicas share equal subtrees stays on, as in real use, but each repetition writes values
  never written before and the cache starts empty in every round, so an update never finds a
  node made by an earlier repetition (B8 measures what sharing saves between replicas).

Run ``python benchmarks/b5_merkle.py`` (``--quick`` for 100,000 leaves and 3 repeats).
Peers: ``pip install pymerkle`` and ``pip install --no-deps merkletools`` (its pysha3
dependency does not build on Python 3.11+, and only its SHA-3 modes need it).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import warnings

import _harness as H  # noqa: I001  (sets sys.path so the checkout's replicalab is used)

import replicalab.merkle as merkle_module
import replicalab.merkle_index as index_module
from replicalab.merkle import MerkleTree, rfc6962_root, suggested_depth
from replicalab.merkle_index import MerkleIndex

warnings.filterwarnings("ignore", message="sha3 is not working")
try:
    import pymerkle
except ImportError:  # pragma: no cover - peers are optional
    pymerkle = None
try:
    import merkletools
except ImportError:  # pragma: no cover - peers are optional
    merkletools = None

FANOUT = 16
sha256 = hashlib.sha256


# ---------------------------------------------------------------------------
# RFC 6962 roots


def floor_root(leaves: list[bytes], leaf_prefix: bytes = b"\x00", node_prefix: bytes = b"\x01") -> bytes:
    """The floor: 2n - 1 SHA-256 calls in the plainest loop; odd nodes promoted."""
    sha = sha256
    level = [sha(leaf_prefix + x).digest() for x in leaves]
    while len(level) > 1:
        up = [sha(node_prefix + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        level = up
    return level[0]


def run_floor(leaves):
    t0 = H.perf_counter()
    root = floor_root(leaves)
    return H.perf_counter() - t0, root


def run_replicalab(leaves):
    t0 = H.perf_counter()
    root = rfc6962_root(leaves)
    return H.perf_counter() - t0, root


def run_pymerkle(leaves):
    t0 = H.perf_counter()
    tree = pymerkle.InmemoryTree.init_from_entries(leaves, algorithm="sha256")
    root = tree.get_root()
    return H.perf_counter() - t0, root


def run_merkletools(texts):
    t0 = H.perf_counter()
    tree = merkletools.MerkleTools(hash_type="sha256")
    tree.add_leaf(texts, do_hash=True)
    tree.make_tree()
    root = bytes.fromhex(tree.get_merkle_root())
    return H.perf_counter() - t0, root


def bench_rfc(n: int, repeats: int, failures: list[str]) -> None:
    H.banner(f"RFC 6962 root of {n:,} leaves b'key%07d=value%07d'")
    leaves = [b"key%07d=value%07d" % (i, i) for i in range(n)]
    contenders = {
        "floor: bare hashlib loop (2n-1 hashes)": lambda: run_floor(leaves),
        "replicalab rfc6962_root": lambda: run_replicalab(leaves),
    }
    if pymerkle is not None:
        contenders["pymerkle InmemoryTree"] = lambda: run_pymerkle(leaves)
    if merkletools is not None:
        texts = [x.decode() for x in leaves]  # its API takes text; the conversion is not timed
        contenders["merkletools (no prefixes)"] = lambda: run_merkletools(texts)
    results = H.measure(contenders, repeats=repeats)
    floor = results["floor: bare hashlib loop (2n-1 hashes)"]
    ours = results["replicalab rfc6962_root"]
    if ours.answer != floor.answer:
        failures.append(f"n={n}: replicalab root {ours.answer.hex()} != floor {floor.answer.hex()}")
    if pymerkle is not None and results["pymerkle InmemoryTree"].answer != floor.answer:
        failures.append(f"n={n}: pymerkle root differs from RFC 6962")
    if merkletools is not None and results["merkletools (no prefixes)"].answer != floor_root(leaves, b"", b""):
        failures.append(f"n={n}: merkletools root differs from the unprefixed loop")
    rows = []
    for name, r in results.items():
        ratio = r.median / ours.median
        if r is ours:
            target = f"{ours.median / floor.median:.2f}x floor (<= 1.2x)"
            verdict = H.verdict(ours.median / floor.median, 1.2, at_most=True)
        elif r is floor:
            target, verdict = "", ""
        else:
            target, verdict = f"replicalab {ratio:.1f}x faster", H.verdict(ratio, 1.0)
        rows.append([name, f"{r.median * 1e3:.0f} ms", f"{r.spread:.0%}", f"{ratio:.2f}x", target, verdict])
    for missing, how in ((pymerkle, "pip install pymerkle"), (merkletools, "pip install --no-deps merkletools")):
        if missing is None:
            rows.append([f"({how.split()[-1]})", "skipped", "", "", how, ""])
    print(H.table(["contender", "median", "spread", "time / replicalab", "", ""], rows))
    print(f"  roots: replicalab = floor{' = pymerkle' if pymerkle else ''}: {ours.answer.hex()[:16]}...")


# ---------------------------------------------------------------------------
# Keyspace tree: build and incremental update


def count_nodes(tree: MerkleTree) -> tuple[int, int]:
    """(non-empty buckets, non-empty inner nodes), by walking the tree's internals."""
    buckets = inner = 0
    stack = [(tree._top, 0)]
    while stack:
        node, level = stack.pop()
        if node is None:
            continue
        if level == tree.depth:
            buckets += 1
        else:
            inner += 1
            stack += [(child, level + 1) for child in node[1]]
    return buckets, inner


def keyspace_hash_floor(mapping: dict[str, bytes], buckets: int, inner: int, fanout: int) -> float:
    """Only the hashes MerkleTree.build makes, in the plainest loops."""
    sha = sha256
    leaf_input = b"\x00" + bytes(4 + 10 + 32)
    node_input = b"\x01" + bytes(32 * fanout)
    t0 = H.perf_counter()
    for key, value in mapping.items():
        sha(key.encode()).digest()
        sha(value).digest()
    for _ in range(buckets):
        sha(leaf_input).digest()
    for _ in range(inner):
        sha(node_input).digest()
    return H.perf_counter() - t0


def count_hashes(call) -> tuple[int, int]:
    """(SHA-256 calls, of which inner-node hashes) that ``call()`` makes in replicalab.merkle."""
    real = merkle_module._sha256
    calls = [0, 0]

    def counting(data=b"", *args):
        calls[0] += 1
        calls[1] += data[:1] == b"\x01" and len(data) == 1 + 32 * FANOUT
        return real(data, *args)

    merkle_module._sha256 = index_module._sha256 = counting
    try:
        call()
    finally:
        merkle_module._sha256 = index_module._sha256 = real
    return calls[0], calls[1]


def _index_call(index: MerkleIndex, batch: dict[str, bytes], single: bool, snapshot: bool) -> None:
    """One timed-row call on a prepared index, for counting its hash calls."""
    if single:
        for key, digest in batch.items():
            index.set_digest(key, digest)
    else:
        index.update_digests(batch)
    if snapshot:
        index.snapshot()
    else:
        _ = index.root  # reading the root does the hashing


def bench_keyspace(n: int, repeats: int, failures: list[str]) -> None:
    depth = suggested_depth(n, FANOUT)
    H.banner(f"Keyspace tree of {n:,} keys (fanout {FANOUT}, depth {depth}): build and update")
    mapping = {f"key{i:07d}": b"value%07d" % i for i in range(n)}
    tree = MerkleTree.build(mapping, fanout=FANOUT, depth=depth)
    buckets, inner = count_nodes(tree)

    def build():
        t0 = H.perf_counter()
        built = MerkleTree.build(mapping, fanout=FANOUT, depth=depth)
        return H.perf_counter() - t0, built.root

    results = H.measure({
        "hashes only: 2/key + 1/bucket + 1/inner node": lambda: (keyspace_hash_floor(mapping, buckets, inner, FANOUT), None),
        "replicalab MerkleTree.build": build,
    }, repeats=repeats)
    floor = results["hashes only: 2/key + 1/bucket + 1/inner node"].median
    ours = results["replicalab MerkleTree.build"].median
    print(H.table(["contender", "median", "per key", "ratio"], [
        ["hashes only: 2/key + 1/bucket + 1/inner node", f"{floor * 1e3:.0f} ms", f"{floor / n * 1e6:.2f} us", "1.00x"],
        ["replicalab MerkleTree.build", f"{ours * 1e3:.0f} ms", f"{ours / n * 1e6:.2f} us", f"{ours / floor:.2f}x"],
    ]))
    print(f"  {buckets:,} non-empty buckets of {tree.buckets:,}, {inner:,} non-empty inner nodes")

    node_input = b"\x01" + bytes(32 * FANOUT)
    places = merkle_module._KEY_PLACES
    rows = []
    counted = []
    for d in (1, 10, 1000):
        step = max(1, n // d)
        batches = max(1, 4000 // d)  # time enough batches to rise above the timer's resolution
        # One variant per repetition: values never written before, so nothing is found in
        # the node cache that an earlier repetition put there.
        variants = [[(f"key{i * step:07d}", b"fresh%07d.%d" % (i, r)) for i in range(d)] for r in range(batches)]
        dicts = [dict(v) for v in variants]
        # The warm rows get each value's digest as a replica's item caches it (computed once,
        # when the item was written: timed separately, in the "digest per write" row).
        digested = [[(key, sha256(value).digest()) for key, value in v] for v in variants]
        digest_dicts = [dict(v) for v in digested]
        keys = [key for key, _ in variants[0]]

        def cold_set(variants=variants):
            merkle_module._SHARED.clear()
            t0 = H.process_time()
            for updates in variants:
                places.clear()  # cold: every key hashed to find its place (the clear is timed, ~1%)
                t = tree
                for key, value in updates:
                    t = t.set(key, value)
            return (H.process_time() - t0) / len(variants), t.root

        def cold_batch(dicts=dicts):
            merkle_module._SHARED.clear()
            t0 = H.process_time()
            for batch in dicts:
                places.clear()
                t = tree.update(batch)
            return (H.process_time() - t0) / len(dicts), t.root

        def warm_set(digested=digested, keys=keys):
            merkle_module._SHARED.clear()
            for key in keys:  # placed when the key was written before (untimed)
                merkle_module._place(key)
            t0 = H.process_time()
            for updates in digested:
                t = tree
                for key, digest in updates:
                    t = t.set_digest(key, digest)
            return (H.process_time() - t0) / len(digested), t.root

        def warm_batch(digest_dicts=digest_dicts, keys=keys):
            merkle_module._SHARED.clear()
            for key in keys:
                merkle_module._place(key)
            t0 = H.process_time()
            for batch in digest_dicts:
                t = tree.update_digests(batch)
            return (H.process_time() - t0) / len(digest_dicts), t.root

        def fresh_index(keys=keys, digested=digested):
            """The replica's own index of ``tree`` in its steady state (untimed): the batch's keys
            placed and written once since the last snapshot, so their paths are owned."""
            merkle_module._SHARED.clear()
            for key in keys:
                merkle_module._place(key)
            index = MerkleIndex(tree)
            index.update_digests(dict(digested[0]))
            _ = index.root
            return index

        def index_set(digested=digested):
            index = fresh_index()
            t0 = H.process_time()
            for updates in digested:
                for key, digest in updates:
                    index.set_digest(key, digest)
                root = index.root  # the update is done when the root is known: timed
            return (H.process_time() - t0) / len(digested), root

        def index_batch(digest_dicts=digest_dicts):
            index = fresh_index()
            t0 = H.process_time()
            for batch in digest_dicts:
                index.update_digests(batch)
                root = index.root
            return (H.process_time() - t0) / len(digest_dicts), root

        def index_snapshots(digest_dicts=digest_dicts):
            index = fresh_index()
            t0 = H.process_time()
            for batch in digest_dicts:
                index.update_digests(batch)
                snap = index.snapshot()  # freezes what the batch wrote: the next batch copies it
            return (H.process_time() - t0) / len(digest_dicts), snap.root

        def digest_per_write(variants=variants):
            sha = sha256
            t0 = H.process_time()
            for updates in variants:
                for _, value in updates:
                    sha(value).digest()
            return (H.process_time() - t0) / len(variants), None

        def yardstick(d=d, batches=batches):
            sha = sha256
            t0 = H.process_time()
            for _ in range(batches):
                for _ in range(d * depth):
                    sha(node_input).digest()
            return (H.process_time() - t0) / batches, None

        def hashes_alone(variants=variants, warm=False):
            """The SHA-256 calls d single-key updates make, and nothing else (warm: given
            ``(key, digest)`` pairs, neither the key nor the value is hashed)."""
            sha = sha256
            t0 = H.process_time()
            for updates in variants:
                for key, value in updates:
                    kb = key.encode()
                    if warm:
                        vd = value
                    else:
                        sha(kb).digest()
                        vd = sha(value).digest()
                    sha(b"\x00" + len(kb).to_bytes(4, "big") + kb + vd).digest()
                    for _ in range(depth):
                        sha(node_input).digest()
            return (H.process_time() - t0) / len(variants), None

        res = H.measure({"yardstick": yardstick, "cold alone": hashes_alone,
                         "warm alone": lambda v=digested: hashes_alone(v, warm=True),
                         "digest": digest_per_write, "cold set": cold_set, "cold batch": cold_batch,
                         "warm set": warm_set, "warm batch": warm_batch, "index set": index_set,
                         "index batch": index_batch, "index snapshots": index_snapshots}, repeats=repeats)
        rebuilt = MerkleTree.build({**mapping, **dicts[-1]}, fanout=FANOUT, depth=depth).root
        for name in ("cold set", "cold batch", "warm set", "warm batch", "index set", "index batch",
                     "index snapshots"):
            if res[name].answer != rebuilt:
                failures.append(f"n={n}: {d} incremental updates ({name}) != rebuild")
        yard = res["yardstick"].median

        def one_by_one(updates=variants[0]):
            places.clear()
            t = tree
            for key, value in updates:
                t = t.set(key, value)

        def one_by_one_warm(updates=digested[0]):
            t = tree
            for key, digest in updates:
                t = t.set_digest(key, digest)

        def cold_once(batch=dicts[0]):
            places.clear()
            tree.update(batch)

        def index_once(batch=digest_dicts[0], single=False, snapshot=False, digested=digested):
            """A prepared index (as fresh_index) and the call to count on it."""
            index = MerkleIndex(tree)
            index.update_digests(dict(digested[1 % len(digested)]))
            _ = index.root
            merkle_module._SHARED.clear()
            return lambda: _index_call(index, batch, single, snapshot)

        for name, label, what, alone, call in (
                ("cold set", "set x d", "cold: key + value hashed inside", "cold alone", one_by_one),
                ("cold batch", "update(d)", "cold: key + value hashed inside", "cold alone", cold_once),
                ("warm set", "set_digest x d", "warm, MerkleTree value (copies)", "warm alone", one_by_one_warm),
                ("warm batch", "update_digests(d)", "warm, MerkleTree value (copies)", "warm alone",
                 lambda b=digest_dicts[0]: tree.update_digests(b)),
                ("index set", "set_digest x d, root", "warm, MerkleIndex (in place)", "warm alone",
                 lambda: index_once(single=True)),
                ("index batch", "update_digests(d), root", "warm, MerkleIndex (in place)", "warm alone",
                 lambda: index_once()),
                ("index snapshots", "update_digests(d), snapshot", "MerkleIndex, snapshot per batch", "warm alone",
                 lambda: index_once(snapshot=True))):
            ratio = res[name].median / yard
            target = name in ("index set", "index batch")
            rows.append([f"d = {d:,}", label, what, f"{res[name].median * 1e6:,.0f} us", f"{yard * 1e6:,.0f} us",
                         f"{ratio:.2f}x", f"{res[name].best / res['yardstick'].best:.2f}x",
                         H.verdict(ratio, 1.5, at_most=True) if target else "(info)",
                         f"{res[alone].median / yard:.2f}x", f"{res[name].spread:.0%}"])
            for key in keys:
                merkle_module._place(key)  # warm calls find their keys placed; cold ones clear them
            merkle_module._SHARED.clear()
            calls, inner_calls = count_hashes(call() if name.startswith("index") else call)
            counted.append([f"d = {d:,}", label, f"{calls:,}", f"{inner_calls:,}", f"{d * depth:,}",
                            f"{calls / (d * depth):.2f}x", f"{inner_calls / (d * depth):.2f}x"])
        rows.append([f"d = {d:,}", "digest per write", "SHA-256 of each value, once", f"{res['digest'].median * 1e6:,.0f} us",
                     f"{yard * 1e6:,.0f} us", f"{res['digest'].median / yard:.2f}x",
                     f"{res['digest'].best / res['yardstick'].best:.2f}x", "(info)", "", f"{res['digest'].spread:.0%}"])
    print()
    print(f"  Incremental update of d keys, on a tree whose depth follows the key count ({depth}).")
    print(f"  Cold (as before): the update hashes each key to place it and each value: set makes {depth + 3} hashes.")
    print("  Warm (as a replica does it): each item's digest was computed once when it was written (the")
    print("  'digest per write' row, not inside the update) and the key's place is cached: set_digest")
    print(f"  makes {depth + 1} hashes (its bucket, {depth} inner nodes); batches hash each changed node once.")
    print("  MerkleTree rows: the value API (every write copies its path). MerkleIndex rows: the replica's own")
    print("  index between two snapshots (paths already owned, updated in place, stale nodes hashed once when")
    print("  the root is read: the root read is timed); the snapshot row freezes after every batch, so every")
    print("  batch copies its paths again.")
    print(f"  Time against d*{depth} bare node hashes (the target, issue #20: MerkleIndex rows at most 1.5x):")
    print(H.table(["update", "how", "what is inside", "replicalab", f"d*{depth} node hashes", "ratio (median)",
                   "ratio (best)", "<= 1.5x", "its hashes alone", "spread"], rows))
    print("  Hash calls (information, counted exactly in one extra untimed run):")
    print(H.table(["update", "how", "SHA-256 calls", "of them inner nodes", f"d*{depth}", "calls / d*depth",
                   "inner / d*depth"], counted))
    print("  (every result checked equal to a full rebuild)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 leaves only, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None, help="measured rounds (default 5)")
    parser.add_argument("--smoke", action="store_true", help="5,000 leaves: " + H.SMOKE_HELP)
    args = parser.parse_args(argv)
    H.set_smoke(args.smoke)
    repeats = args.repeats or (1 if args.smoke else 3 if args.quick else 5)
    # Smoke: 5,000 keys still hold a d = 1,000 batch (every 5th key) and an odd-sized RFC tree.
    sizes = (5_000,) if args.smoke else (100_000,) if args.quick else (100_000, 1_000_000)
    print(f"{H.environment_line()}, pymerkle {H.version('pymerkle')}, "
          f"merkletools {H.version('merkletools')}; median of {repeats} after {H.WARMUP} warm-up")
    failures: list[str] = []
    for n in sizes:
        bench_rfc(n, repeats, failures)
    for n in sizes:
        bench_keyspace(n, repeats, failures)
    if failures:
        print()
        for failure in failures:
            print(f"  CHECK FAILED: {failure}")
    what = "RFC 6962 root: replicalab = floor"
    what += " = pymerkle" if pymerkle else " (pymerkle skipped: not installed)"
    what += ", merkletools = unprefixed loop" if merkletools else " (merkletools skipped: not installed)"
    what += f"; incremental updates = rebuild, n = {', '.join(f'{n:,}' for n in sizes)}"
    return H.checks(failures, what)


if __name__ == "__main__":
    sys.exit(main())
