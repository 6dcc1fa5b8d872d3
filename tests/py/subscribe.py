"""A gql (websockets transport) subscriber for the integration tests, as a Python bot would run it.

Prints one JSON line per message: {"connected": true}, {"next": result}, {"error": message},
and stops after --count results or --timeout seconds. --delay makes it a slow reader.
"""

import argparse
import asyncio
import json

from gql import Client
from gql.graphql_request import GraphQLRequest
from gql.transport.websockets import WebsocketsTransport


def close_code(error):
    """The websocket close code somewhere in an exception's chain."""
    seen = 0
    while error is not None and seen < 10:
        received = getattr(error, "rcvd", None)
        if received is not None:
            return received.code
        if isinstance(getattr(error, "code", None), int):
            return error.code
        error = error.__cause__ or error.__context__
        seen += 1
    return None


def emit(obj):
    print(json.dumps(obj), flush=True)


async def run(args):
    subprotocol = (
        WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL
        if args.protocol == "transport"
        else WebsocketsTransport.APOLLO_SUBPROTOCOL
    )
    init_payload = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    transport = WebsocketsTransport(url=args.url, subprotocols=[subprotocol], init_payload=init_payload)
    request = GraphQLRequest(args.query, variable_values=json.loads(args.variables))
    received = 0
    async with Client(transport=transport, fetch_schema_from_transport=False) as session:
        emit({"connected": True})
        async for result in session.subscribe(request):
            emit({"next": result})
            received += 1
            if received >= args.count:
                return
            if args.delay:
                await asyncio.sleep(args.delay)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--protocol", choices=["transport", "legacy"], default="transport")
    parser.add_argument("--query", required=True)
    parser.add_argument("--variables", default="{}")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--api-key")
    args = parser.parse_args()
    try:
        asyncio.run(asyncio.wait_for(run(args), args.timeout))
    except asyncio.TimeoutError:
        emit({"timeout": True})
    except Exception as e:  # the test reads what went wrong, with the close code if any
        emit({"error": f"{type(e).__name__}: {e}", "code": close_code(e)})


if __name__ == "__main__":
    main()
