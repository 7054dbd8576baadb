"""Blocking helpers for scripts: the async client on its own event loop in a daemon thread.

Running the loop in a thread (rather than ``asyncio.run``) makes these work from code that
already has a loop running, such as a notebook or a sync web handler::

    from motia_runtime.client.blocking import collect, watch_item

    for item in watch_item("ws://127.0.0.1:3000", "openai", group_id, "message"):
        print(item and item["message"])

    done = collect("ws://127.0.0.1:3000", "petCreation", group_id, until=lambda items: len(items) >= 7)
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from .backoff import Backoff
from .connection import StreamClient
from .subscription import StreamSubscription

T = TypeVar("T")
_DONE = object()
CLEANUP_S = 5.0  # how long an interrupted call waits for its coroutine to close the connection


async def _cancel_all() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="motia-stream-client", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        finished = threading.Event()

        async def main() -> T:
            try:
                return await coro
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(main(), self.loop)
        try:
            return future.result(timeout)
        except BaseException:
            # Ctrl-C (KeyboardInterrupt) or the timeout reaches only this waiting thread: the
            # coroutine is still running on the loop. Cancel it and let its ``finally`` and
            # ``async with`` close the connection, or stopping the loop would abandon the socket
            # and its tasks (a page of "Task was destroyed but it is pending!" on the way out).
            future.cancel()
            finished.wait(CLEANUP_S)
            raise

    def stop(self) -> None:
        if self.thread.is_alive():
            try:  # whatever is left (a watch's pump): cancelled and finished, not destroyed pending
                asyncio.run_coroutine_threadsafe(_cancel_all(), self.loop).result(CLEANUP_S)
            except TimeoutError:
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


def _subscribe(client: StreamClient, stream: str, group: str, id: str | None,
               sort_key: str | None) -> StreamSubscription[Any]:
    if id is not None:
        return client.subscribe_item(stream, group, id)
    return client.subscribe_group(stream, group, sort_key)


def _watch(url: str, stream: str, group: str, id: str | None, sort_key: str | None, auth_token: str | None,
           backoff: Backoff | None) -> Iterator[Any]:
    states: queue.Queue[Any] = queue.Queue()
    runner = _LoopThread()
    client_box: list[StreamClient] = []

    async def pump() -> None:
        client = StreamClient(url, auth_token, backoff=backoff)
        client_box.append(client)
        try:
            await client.connect()
            async for state in _subscribe(client, stream, group, id, sort_key):
                states.put(state)
        except Exception as exc:  # handed to the reading thread, which raises it
            states.put(exc)
        finally:
            states.put(_DONE)

    future = asyncio.run_coroutine_threadsafe(pump(), runner.loop)
    try:
        while True:
            value = states.get()
            if value is _DONE:
                return
            if isinstance(value, Exception):
                raise value
            yield value
    finally:
        # Runs when the caller breaks out of the loop (generator close) or on an error.
        if client_box:
            runner.run(client_box[0].close(), timeout=10)
        future.cancel()
        runner.stop()


def watch_item(url: str, stream: str, group: str, id: str, *, auth_token: str | None = None,
               backoff: Backoff | None = None) -> Iterator[dict[str, Any] | None]:
    """Yield the item (None if it does not exist) now and after each change, reconnecting as needed.
    Break out of the loop to stop."""
    return _watch(url, stream, group, id, None, auth_token, backoff)


def watch_group(url: str, stream: str, group: str, *, sort_key: str | None = None, auth_token: str | None = None,
                backoff: Backoff | None = None) -> Iterator[list[dict[str, Any]]]:
    """Yield the group's items now and after each change. Break out of the loop to stop."""
    return _watch(url, stream, group, None, sort_key, auth_token, backoff)


def collect(url: str, stream: str, group: str, id: str | None = None, *,
            until: Callable[[Any], bool] | None = None, timeout: float = 30, auth_token: str | None = None,
            sort_key: str | None = None) -> Any:
    """The first state (item, or group list when ``id`` is None) for which ``until(state)`` is
    true; without ``until``, the current state. Raises TimeoutError after ``timeout`` seconds."""
    runner = _LoopThread()

    async def wait() -> Any:
        async with StreamClient(url, auth_token) as client:
            async for state in _subscribe(client, stream, group, id, sort_key):
                if until is None or until(state):
                    return state
        raise TimeoutError("the subscription ended before the condition was met")

    async def bounded() -> Any:
        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"{stream}/{group}{'/' + id if id else ''}: condition not met in {timeout}s") from None

    try:
        return runner.run(bounded())
    finally:
        runner.stop()
