"""Walk a recorded trace forwards and backwards, event by event or iteration by iteration."""
from .trace import EVENT_TYPES, Trace


class Replay:
    """A cursor over a :class:`~lbfgsb_py.Trace` (or a JSON Lines path).

    ``current`` is the event under the cursor; :meth:`next` / :meth:`prev` move
    one event, :meth:`next_iteration` / :meth:`prev_iteration` jump to the next
    or previous ``iteration_start`` (or the end), :meth:`goto` to an index.
    """

    def __init__(self, trace):
        self.trace = Trace.load(trace) if isinstance(trace, (str, bytes)) or hasattr(
            trace, "__fspath__") else trace
        if len(self.trace) == 0:
            raise ValueError("the trace has no events")
        self.pos = 0

    @property
    def current(self):
        """The event under the cursor."""
        return self.trace[self.pos]

    def goto(self, index):
        """Move to event ``index`` (clamped to the trace); return it."""
        self.pos = max(0, min(index, len(self.trace) - 1))
        return self.current

    def next(self):
        """Move one event forwards; return it."""
        return self.goto(self.pos + 1)

    def prev(self):
        """Move one event backwards; return it."""
        return self.goto(self.pos - 1)

    def next_iteration(self):
        """Jump to the next ``iteration_start`` (or the last event)."""
        return self.next_of_kind("iteration_start")

    def prev_iteration(self):
        """Jump to the previous ``iteration_start`` (or the first event)."""
        return self.prev_of_kind("iteration_start")

    def next_of_kind(self, kind):
        """Jump to the next event of this kind (or the last event)."""
        return self.goto(self._find(kind, range(self.pos + 1, len(self.trace)),
                                    len(self.trace) - 1))

    def prev_of_kind(self, kind):
        """Jump to the previous event of this kind (or the first event)."""
        return self.goto(self._find(kind, range(self.pos - 1, -1, -1), 0))

    def _find(self, kind, indices, default):
        if kind not in EVENT_TYPES:
            raise ValueError(f"unknown event kind {kind!r}; known: {', '.join(EVENT_TYPES)}")
        return next((i for i in indices if self.trace[i].kind == kind), default)
