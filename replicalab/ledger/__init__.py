"""The write ledger: for every client write, did it survive — and if not, where and why?

Every client write gets exactly one verdict:

``kept``
    its effect (every attribute it set, with its value) is in the final state
    of every live replica, as the value or in one of the siblings;
``superseded``
    its effect is gone, and every write that removed it, anywhere, at any
    time, had *seen* it (ordinary overwrites);
``silently-lost``
    some merge, at some replica, discarded its effect in favour of a write
    that had not seen it (concurrent with it, or older and winning anyway),
    and nobody was told — even if a later write overwrote the same attributes
    afterwards: the merge history counts, not only the final state;
``detected``
    gone or contested, but the system surfaced it (a conflict report naming
    the write, a version fork flagged by a scan);
``rejected``
    the replica refused it with an error, or the request never reached it (a
    region down, a partition in the way): it took effect nowhere, and the
    client knows. A write whose client got an error (a timeout, an answer cut
    off on its way) but which some region applied anyway is judged by its
    effect like any other, and its why starts with what the client was told;
``unreplicated``
    acknowledged and held by at least one live replica, but the run ended
    before it reached every live replica, or before one it reached applied it
    (the run did not converge: a partition never healed, a region lost its
    quorum with the write in a log entry that can never commit). A write held
    nowhere is judged by the other rules.

*Replicas down with their disk.* A replica down at the end with its state
kept (``durable=True``) comes back with what its disk holds, so a write its
disk holds is not lost for want of a copy: if the live replicas lack it only
because it never reached them, it is ``unreplicated`` ("held by ... (down,
its state kept)") — but a merge that discarded it for a write that had not
seen it still makes it ``silently-lost`` (the disk's copy loses the same
merge when its node is back); a write its disk lacks is not missing from
the state the system serves while a live replica of the key serves it — the
node catches up when it is back, and ``Result.converged`` (which compares the
disks too) is then False. When no replica of a key is up (a leaderless
region's ``n=1`` home node), its writes are judged at the disks that hold the
key: ``kept`` if every one holds the write (its why: "kept only by ... no home
replica is up at the end to serve it"), and ``converged`` agrees. Invariant:
a run with an ``unreplicated`` write never converged. A replica down *without*
its disk holds nothing and is never judged (``Result.state_lost``).

The rules, in order: ``rejected`` if the client got an error; ``kept`` if the
effect is at every live replica; ``silently-lost`` (or ``detected``, when the
system reported it) if any recorded merge discarded part of the effect in
favour of a write that had not seen it — the why names the *first* such merge
(replica, time, the winning write and the stamps) and mentions a later
overwrite; ``unreplicated`` if it is held somewhere and every live replica
missing it never received it, or received it without it ever entering its table (below);
``superseded`` if every write now holding the
missing attributes had seen it — or if some did and the others are concurrent values kept
beside them (siblings, a multi-value register), every recorded removal having been by a
write that had seen it — or if it is held nowhere and every recorded removal of it was by a
write that had seen it; otherwise ``silently-lost`` (or ``detected``).

*Reached is not applied.* Ground truth says which writes had reached each replica: a
message carried them, or their past. That includes messages a replica does not apply — a
leader region's log entry that never commits (no quorum), a request waiting for a leader —
and items in which a later write had already overwritten the write (it arrives only as that
item's past). Every merge that drops a value records the loss (a replication or anti-entropy
merge whose incoming item loses, too: ``Merged`` with ``changed=False``). So at a replica it
reached, a write is missing *there* because of a write that had seen it (that write is
responsible; a recorded removal there names it even if a concurrent value came later), or
else it never entered that table: a holder it had not seen took its place only through a
merge, which recorded the loss (judged first). One exception is left to the holders: a
removal that loses records no loss (a tombstone of REMOVE, a delete or PutItem, or a set
``DELETE`` undone by a concurrent add that wins), so when what a write removed is back, a
concurrent holder of it still counts as responsible — unless the policy ranks the write above
every such holder, the same at every replica: the initial state (it wins no merge), a write
whose value a recorded merge dropped in favour of this one (a later stamp), or a write whose
value an item holding this one keeps beside it (siblings) — or, given the table's merge policy
(``judge(policy=...)``, which :func:`from_simulation` passes), a holder no merge ranked against
the write, ranked by the policy's own rule (by stamp under the LWW policies, as a sibling under
``causal``, by observed dots under ``crdt``, where a concurrent add still wins). Had the removal
entered that table, none of those could have brought back what it removed: it never applied
there (a log entry beyond the commit index, a request waiting for a leader, a follower cut off
from its leader for good).

``by`` and the why always name the write that actually caused the loss: the
write whose item, attribute or sibling won the merge — for a resolve-by-stamp
step among siblings, the sibling whose value was carried — never a write that
had merely seen the lost one. The initial item is no write either: where a version that
never met the write (its own write had not seen it) still carries the initial value, that
version's write is the holder — a sibling kept beside the writes that overwrote it.

A write's *effect* is every attribute it set, with its value, except the
``version`` attribute that the versioned-write pattern maintains: that is
bookkeeping.

*Parts.* A write that changed an attribute only in part — a nested path (``SET m.k = :v``,
``REMOVE m.k``), an append (``SET l = list_append(l, :v)``), an increment (``ADD n :v``,
``SET n = n + :v``, a scenario's counter add under a policy that sets the sum), a DynamoDB set
``ADD``/``DELETE`` — kept the rest
of the value it read, and so may a later write on the same attribute: the cell then names the
later write, yet the earlier part is in its value. The region records each such write's parts
and the write whose stored value it changed (its *base*, :class:`WriteRecord` ``parts`` and
``base``). The part is in an item if some cell of the attribute was built, through a chain of
such writes back to the judged one, by writes that each left the part as it was: other map keys,
more appends, more increments, set changes that neither delete what it added nor add what it
deleted. A write on the chain that set or removed the part, the whole
attribute or anything inside the part (or touched a list by index: an index names another
element once the list changed) *replaced* it: it had seen the part (it read a value holding
it), so the part is ``superseded`` by that write, the first after it on the chain. A part
dropped by a merge in favour of a write that had not seen it is ``silently-lost`` as before
(the holder's chain does not reach it). Equal values do not count: a part set again to the same
value by a later write is that write's.

An action that left its path as it was — ``SET a = if_not_exists(a, :v)`` where ``a`` had a
value, ``REMOVE m.k`` where ``m.k`` had none, a set ``DELETE`` of members none of which were
there, an ``ADD`` of members all of which were — is a ``keep`` part: the write has no effect
there (so it is never lost or unreplicated for it), and a chain passes through it. It is still
a write the region stamps and replicates, so under last-writer-wins it can win a merge and
silently drop a concurrent write (``by`` names it). Under ``crdt`` an ``if_not_exists`` on a
counter is no keep but an assignment of the total it read: the counter's reset, which
supersedes the increments it observed. Absences — a nested ``REMOVE``, a set ``DELETE`` (also
one that emptied the set and so removed the attribute) — are in effect while some sibling
lacks what they took out, whoever's cell holds the attribute now, as for the set actions
below. ``by`` names, for each write now holding the attribute that had seen the judged one,
the write that undid it on the way there: the earliest write that had seen it and replaced
its part, or built on a sibling without it (reading the greatest stamp); where none did, the
concurrent version that carried an older value back (item-lww keeps a whole item).

Two kinds of write are judged by value instead, because their
whole point is to combine with others: a counter ``ADD`` is in effect while
its increment still counts (under ``crdt``: its replica's running total has reached it and no
surviving assignment observed it), and a set ``ADD``/``DELETE`` while
its added elements are in the set and its deleted elements are not (in at
least one sibling). So a deleted element that comes back — through an item
that still held it, or a concurrent add that wins — counts against the delete,
and a missing element counts against the deletes that had seen the add (a
concurrent OR-Set delete removes only the adds it saw). Under ``crdt`` a set
written whole is kept by its element cells while they hold every member it wrote;
a later delete of one member that had seen it supersedes it, as under LWW.

Verdicts come from things no merge policy controls: the *provenance* carried
by every attribute value (which write set it), the simulator's ground-truth
causality (which writes had reached the writer when it wrote, and which had
reached each replica by the end, see :class:`~replicalab.sim.simulation.WriteFact`),
and the :class:`~replicalab.policies.Loss` records of every merge, which name
the value dropped and the write that won. Whether the winner had seen the
loser is judged from ground truth, never from the policy.
"""

from __future__ import annotations

from replicalab.ledger.reading import from_simulation as from_simulation
from replicalab.ledger.records import VERDICTS, Entry, Ledger, LossEvent, WriteRecord
from replicalab.ledger.records import describe_stamp as describe_stamp
from replicalab.ledger.rules import judge

__all__ = ["VERDICTS", "Entry", "Ledger", "LossEvent", "WriteRecord", "judge"]
