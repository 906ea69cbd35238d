"""Streams 100,000+ items through BatchEnrolWorkers and RecordOrders from Python grpcio, reading
results as they come, as a platform backend written in Python would. Exit 0 when every item got
its result and the stream ended OK; 1 otherwise, with the reason.

Usage: grpcio_streams.py STUBS_DIR ADDRESS TOKEN ITEMS
"""
import datetime
import sys
import time

stubs, address, token, items = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, stubs)

import grpc  # noqa: E402
from flexcover.v1 import common_pb2, contribution_pb2, contribution_pb2_grpc  # noqa: E402
from flexcover.v1 import enrolment_pb2, enrolment_pb2_grpc  # noqa: E402

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECKS = "10X98765432"


def person(n):
    # Distinct valid ID numbers: the birth date walks days from 1960, the sequence varies.
    day = datetime.date(1960, 1, 1) + datetime.timedelta(days=n // 1000)
    first17 = "440305" + day.strftime("%Y%m%d") + "%03d" % (n % 1000)
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return first17 + CHECKS[total % 11]


def enrolments():
    for n in range(items):
        yield enrolment_pb2.EnrolWorkerRequest(
            request_id="py-%d" % n,
            worker=enrolment_pb2.Worker(id_number=person(n), name="李明", phone="13800000000"),
            place_of_employment="440305",
            industry=common_pb2.INDUSTRY_INSTANT_DELIVERY,
            cover_start_date=common_pb2.Date(year=2026, month=1, day=5),
        )


def orders(now_seconds):
    for n in range(items):
        record = contribution_pb2.OrderRecord(
            order_id="py-order-%d" % n,
            id_number=person(n % 1000),
            place_of_employment="440305",
            industry=common_pb2.INDUSTRY_INSTANT_DELIVERY,
        )
        record.accepted_at.seconds = now_seconds - 3600 + (n % 3000)
        yield record


def drain(name, responses):
    started = time.monotonic()
    count = refused = 0
    for result in responses:
        count += 1
        if result.HasField("error"):
            refused += 1
    seconds = time.monotonic() - started
    print("%s: %d results (%d refused) in %.1f s, %.0f/s" % (name, count, refused, seconds, count / seconds))
    if count != items:
        raise SystemExit("%s: %d results for %d items" % (name, count, items))
    return refused


metadata = [("authorization", "Bearer " + token)]
options = [("grpc.max_receive_message_length", 16 * 1024 * 1024)]
with grpc.insecure_channel(address, options=options) as channel:
    try:
        refused = drain(
            "BatchEnrolWorkers",
            enrolment_pb2_grpc.EnrolmentServiceStub(channel).BatchEnrolWorkers(enrolments(), metadata=metadata),
        )
        if refused:
            raise SystemExit("BatchEnrolWorkers refused %d valid items" % refused)
        now = int(sys.argv[5]) if len(sys.argv) > 5 else int(time.time())
        drain(
            "RecordOrders",
            contribution_pb2_grpc.ContributionServiceStub(channel).RecordOrders(orders(now), metadata=metadata),
        )
    except grpc.RpcError as error:
        raise SystemExit("stream failed: %s %s" % (error.code(), error.details()))
