"""Exercise: bring your own requests (replicalab exercise ``own-requests``).

``REQUESTS`` is the London incident as data: request-file entries (see
:mod:`replicalab.dynamodb.requestfile`), each ``{"at", "region", "client",
"UpdateItem": <the request, DynamoDB JSON>}``. They run on the table of the shipped
``london`` request file: ``subscribers`` keyed by ``subscriber_id``, where ``sub_42`` starts
at ``version`` 17 in every region.

As given, the two writes race and ``item-lww`` silently drops the portal's address change.
Change the requests (not their region, time, client or values) so that no write is silently
lost and none is refused. Then::

    replicalab exercise check own-requests london_requests.py

Your module is only read for ``REQUESTS`` (plain JSON data); the grader replays it itself.
"""

REQUESTS = [
    {
        "at": "14:07:12.140", "region": "eu-west-1", "client": "portal",
        "UpdateItem": {
            "TableName": "subscribers",
            "Key": {"subscriber_id": {"S": "sub_42"}},
            "UpdateExpression": "SET delivery_address = :addr",
            "ExpressionAttributeValues": {":addr": {"S": "12 High Street, London"}},
        },
    },
    {
        "at": "14:07:12.189", "region": "us-east-1", "client": "retention-job",
        "UpdateItem": {
            "TableName": "subscribers",
            "Key": {"subscriber_id": {"S": "sub_42"}},
            "UpdateExpression": "SET last_contacted = :t",
            "ExpressionAttributeValues": {":t": {"S": "2026-12-22T14:07:12.189Z"}},
        },
    },
]
