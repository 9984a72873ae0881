"""The Dynamo paper's shopping cart: an add and a remove in two regions at once.

DeCandia et al. (2007) motivate Dynamo with a cart that must always accept
"add to cart", and admit the price of their fix: the reader merges
conflicting versions by union, so "deleted items can resurface". Here the
cart is a DynamoDB string set, ``cart_7.items = {"book"}``. The customer's
laptop session (served from us-east-1) adds ``headphones`` at 14:07:12.100;
20 ms later the phone session (served from eu-west-1) deletes ``book``. Both
are UpdateItem calls with the set actions ``ADD`` and ``DELETE``, each atomic
in its own region only; neither has seen the other.

* ``item-lww`` (and ``attribute-lww``: it is the same attribute) keeps the
  phone's later item: the cart is empty, the headphones are silently lost.
* ``causal`` keeps both versions as siblings, ``{book, headphones}`` and
  ``{}``. Nothing is lost, but the reader must merge them, and Dynamo's union
  brings the deleted book back.
* ``crdt`` makes ``items`` an add-wins OR-Set: the delete drops the one book
  it observed, the add contributes headphones under its own dot, and every
  region ends with ``{headphones}``. Add a concurrent add of ``book`` from a
  third region and add-wins keeps that book — the delete's promise covers only
  the book it saw.
"""

from __future__ import annotations

from replicalab.scenarios.london import EPOCH
from replicalab.scenarios.london import SCENARIO as LONDON
from replicalab.scenarios.world import ClientRead, ClientWrite, TableScenario

#: The laptop adds headphones (us-east-1).
ADD_HEADPHONES = ClientWrite(100, "us-east-1", "w1", "laptop", "cart_7", {},
                             add={"items": {"headphones"}})
#: The phone deletes the book, 20 ms later (eu-west-1).
DELETE_BOOK = ClientWrite(120, "eu-west-1", "w2", "phone", "cart_7", {}, delete={"items": {"book"}})

SCENARIO = TableScenario(
    name="cart",
    description="the Dynamo cart: add headphones in us-east-1, delete the book in eu-west-1",
    story=("The laptop (us-east-1) ADDs headphones to cart_7.items at 14:07:12.100; the phone "
           "(eu-west-1) DELETEs the book 20 ms later. At checkout, eu-west-1 reads the cart."),
    regions=LONDON.regions,
    latency=LONDON.latency,
    initial={"cart_7": {"customer": "ana", "items": frozenset({"book"})}},
    workload=(ADD_HEADPHONES, DELETE_BOOK),
    reads=(ClientRead(at=1000, region="eu-west-1", op="r1", client="checkout", key="cart_7"),),
    epoch=EPOCH,
    homes={"cart_7": "eu-west-1"},
    primary="us-east-1",
)
