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


def emit(obj):
    print(json.dumps(obj), flush=True)


async def run(args):
    subprotocol = (
        WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL
        if args.protocol == "transport"
        else WebsocketsTransport.APOLLO_SUBPROTOCOL
    )
    transport = WebsocketsTransport(url=args.url, subprotocols=[subprotocol])
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
    args = parser.parse_args()
    try:
        asyncio.run(asyncio.wait_for(run(args), args.timeout))
    except asyncio.TimeoutError:
        emit({"timeout": True})
    except Exception as e:  # the test reads what went wrong
        emit({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
