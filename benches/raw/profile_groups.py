#!/usr/bin/env python3
"""Groups a CPU profile's stacks by what the frames are, for the engine's cost per operation.

Input: folded stacks ("frame;frame;...;leaf COUNT" per line), as inferno-collapse-perf
or stackcollapse-perf.pl write them from `perf script`. Usage:

    profile_groups.py FOLDED [OPS]

Prints, per group, the share of CPU charged to it (a leaf frame in generic code such as
malloc or memcpy is charged to the nearest specific frame above it), the share whose
leaf frame is in it (self), then the inclusive share of the engine's own
functions in src/ (inclusive). With OPS (operations done while sampling) it also gives
microseconds of CPU per operation; COUNT_NS says how many nanoseconds one count is
(inferno weighs a cpu-clock sample by its period in ns: COUNT_NS=1, the default).
Only the standard library is used.
"""
import os
import re
import sys
from collections import defaultdict

# Groups of user-space frames. A "specific" group owns what runs under it; a "generic"
# one (allocation, memcpy, drop glue, futures combinators...) is charged, in the
# attributed view, to the nearest specific frame above it: an allocation made while
# parsing a URL counts as URL parsing.
SPECIFIC = [
    ("URL parsing (url, idna, http::Uri, form encoding)", r"^<?(url::|idna::|http::uri|form_urlencoded|serde_urlencoded)|<http::uri::|as http::uri::|IntoUrl|into_url"),
    ("HTTP header maps", r"^<?http::header::|HeaderMap|HeaderValue|HeaderName"),
    ("JSON: parse (response body, options)", r"^<?(serde_json::(de|read|value::de)|<serde_json::(de|read|value::de))|serde_path_to_error|as serde_json::read::"),
    ("JSON: build and serialize (results, payloads, token fields)", r"^<?(serde_json::(ser|value::ser|map|value::to_value)|<&mut serde_json::ser|indexmap::|<indexmap::)|as serde_json::ser|serde_json::value::ser"),
    ("reqwest/hyper/tower: request, pool, dispatch, h1 parse", r"^<?(reqwest::|hyper::|hyper_util::|tower::|tower_http::|http::|http_body|want::|bytes::|httparse::|tokio_util::codec)|<(reqwest|hyper|hyper_util|tower|tower_http|http|want|bytes)::"),
    ("tokio: scheduler, park/unpark, wake-ups, timers, I/O driver", r"^<?(tokio::|mio::)|<(tokio|mio)::"),
    ("std sync: Mutex/Condvar/thread park (wxa_wait, Ops, events)", r"^<?(std::sys::sync|std::sync|std::thread::park|std::sys::pal::unix::futex)|<std::sync::|^pthread_(mutex|cond)|^__lll_lock"),
    ("crypto: SHA-256 / HMAC (create_jwt)", r"^<?(sha2::|hmac::|digest::)|<(sha2|hmac|digest)::"),
    ("UUID v4 + getrandom", r"^<?uuid::|<uuid::|getrandom"),
    ("base64 (secrets, JWT parts, Basic auth)", r"^<?base64::|<base64::"),
    ("webex-auth's own code (src/)", r"^<?webex_auth::|<webex_auth::|^wxa_"),
    ("the C driver", r"^(main|sequential|multi|finish|start_exchange|validtoken)$"),
]
GENERIC = [
    ("allocation (malloc/free/realloc, Vec growth, drop)", r"^(malloc|free|cfree|realloc|calloc|_int_malloc|_int_free|_int_realloc|malloc_consolidate|unlink_chunk|tcache|sysmalloc|__libc_malloc|__libc_free|__GI___libc_(malloc|free|realloc|calloc)|__rust_alloc|__rust_dealloc|__rust_realloc|__rustc::|__rdl_)|alloc::raw_vec|^alloc::alloc|drop_in_place|RawVec|zeroize"),
    ("hashing (SipHash) and hash tables", r"core::hash::|hashbrown::|BuildHasher"),
    ("libc syscall wrappers, TLS lookups", r"^(syscall|epoll_wait|__GI___writev|__libc_recv|__libc_send|__GI___clock_gettime|clock_gettime|__tls_get_addr|__vdso_clock_gettime|write|__GI___libc_write|read|__libc_read)$"),
    ("memcpy/memmove/memset/strlen", r"^(__memmove|__memcpy|memcpy|memmove|__strlen|strlen|__memset|memset|__memcmp|memcmp|bcmp|__strchr)"),
    ("formatting (core::fmt, format!)", r"^<?(core::fmt|alloc::fmt)|<alloc::string::String as core::fmt"),
]
KERNEL = [
    ("scheduler: context switches, futex, wake-ups", r"(schedule|finish_task_switch|futex|wake_up|try_to_wake|enqueue_task|dequeue_task|pick_next|__switch_to|_raw_spin_unlock_irq)"),
    ("epoll, eventfd", r"(ep_poll|epoll|eventfd)"),
    ("getrandom (entropy)", r"(getrandom|get_random_bytes|crng_)"),
    ("TCP over loopback", r"(tcp_|inet_|__inet|ip_(rcv|output|finish|local|queue|send|protocol)|__ip_|skb_|__skb|dev_queue_xmit|dev_hard_start|loopback_xmit|net_rx_action|__netif|netif_|process_backlog|sock_|__sock|\bsk_|sendto|recvfrom|sendmsg|recvmsg|writev)"),
]
SPECIFIC_RX = [(g, re.compile(p)) for g, p in SPECIFIC]
GENERIC_RX = [(g, re.compile(p)) for g, p in GENERIC]
KERNEL_RX = [(g, re.compile(p)) for g, p in KERNEL]
OTHER = "other user space (libc, std, futures combinators)"

# For time in the kernel's scheduler, the user-space site that blocked or woke a thread.
WAKE_SITES = [
    ("wxa_wait blocking on the Ops Condvar", r"webex_auth::client::ops::Ops::wait"),
    ("Ops::finish notifying the Condvar", r"webex_auth::client::ops::Ops::finish"),
    ("event queue (push, drainer)", r"webex_auth::client::events::"),
    ("tokio worker parking (epoll_wait)", r"tokio::runtime::.*(park|Driver::turn|driver::Driver)"),
    ("waking the tokio worker (spawn/unpark from another thread)", r"tokio::runtime::.*(unpark|Unpark|wake|schedule|spawn|Handle::)|mio::.*Waker"),
    ("blocking-pool threads (spawn_blocking)", r"tokio::runtime::blocking"),
]
WAKE_RX = [(g, re.compile(p)) for g, p in WAKE_SITES]

# Engine functions whose inclusive share tells the lead where to look in src/.
SRC = [
    ("src/transport/http.rs build(): reqwest RequestBuilder", r"^webex_auth::transport::http::build"),
    ("src/transport/http.rs send_and_read(): reqwest send + body", r"webex_auth::transport::http::(send_and_read|attempt)"),
    ("src/transport/classify.rs json_object(): body -> serde_json::Value", r"webex_auth::transport::classify::json_object"),
    ("src/transport/retry.rs execute(): whole request incl. classify", r"webex_auth::transport::retry::execute"),
    ("src/protocol/token.rs parse_token_response()", r"webex_auth::protocol::token::parse_token_response"),
    ("src/protocol/token.rs to_json_fields()", r"webex_auth::protocol::token::Supertoken::to_json_fields"),
    ("src/client/mod.rs store_token()", r"webex_auth::client::Inner::store_token"),
    ("src/client/mod.rs finish_op(): result JSON, done event, Ops::finish", r"webex_auth::client::Inner::finish_op"),
    ("src/client/ops.rs Ops::finish (publish + Condvar/Notify wake)", r"webex_auth::client::ops::Ops::finish"),
    ("src/client/ops.rs Ops::wait (wxa_wait: lock, Condvar wait)", r"webex_auth::client::ops::Ops::wait"),
    ("src/client/events.rs EventQueue::push / drain", r"webex_auth::client::events::EventQueue::(push|drain)"),
    ("src/client/mod.rs spawn_op() (the task, everything it awaits)", r"webex_auth::client::Inner::spawn_op::\{\{closure\}\}"),
    ("src/lib.rs create_jwt() (wxa_create_jwt)", r"^webex_auth::create_jwt$"),
    ("src/protocol/jwt.rs parse_options() (options JSON)", r"webex_auth::protocol::jwt::parse_options"),
    ("src/protocol/jwt.rs decode_secret() (base64, 4 alphabets tried)", r"webex_auth::protocol::jwt::decode_secret"),
    ("src/protocol/jwt.rs GuestIdentity::sign() (claims, base64url, HMAC)", r"webex_auth::protocol::jwt::GuestIdentity::sign"),
    ("uuid::Uuid::new_v4 + to_string in create_jwt (unused when subject and name are given)", r"uuid::v4::|uuid::fmt::"),
    ("spawning the op from the caller thread (wxa_exchange_code)", r"^wxa_exchange_code$"),
    ("wxa_wait (caller thread)", r"^wxa_wait$"),
    ("tokio worker parked (epoll_wait via park)", r"tokio::runtime::(scheduler::multi_thread::park|park|io::driver::Driver::turn|driver::Driver::park)"),
]
SRC_COMPILED = [(g, re.compile(p)) for g, p in SRC]


def clean(frame):
    # inferno-collapse-perf --all marks kernel frames with a "_[k]" suffix.
    frame = frame.strip()
    return ("[k] " + frame[:-4]) if frame.endswith("_[k]") else frame


def first_match(rxs, frame):
    for g, rx in rxs:
        if rx.search(frame):
            return g
    return None


def nearest_specific(frames):
    """The group of the nearest specific user-space frame, walking from the leaf up."""
    for fr in reversed(frames):
        if fr.startswith("[k] "):
            continue
        g = first_match(SPECIFIC_RX, fr)
        if g:
            return g
    return OTHER


def classify(frames):
    """(attributed group, self group) of one stack (root first)."""
    leaf = frames[-1]
    if leaf.startswith("[k] "):
        kernel = [f[4:] for f in frames if f.startswith("[k] ")]
        kg = "other"
        for f in reversed(kernel):
            g = first_match(KERNEL_RX, f)
            if g:
                kg = g
                break
        if not kg.startswith("scheduler"):
            return f"kernel: {kg}", f"kernel: {kg}"
        # Which user code blocked or woke a thread matters: a futex from wxa_wait's
        # Condvar is not the tokio worker parking in epoll_wait.
        who = None
        for fr in reversed([f for f in frames if not f.startswith("[k] ")]):
            who = first_match(WAKE_RX, fr)
            if who:
                break
        who = who or nearest_specific([f for f in frames if not f.startswith("[k] ")])
        return f"kernel: {kg} (from {who})", f"kernel: {kg}"
    own = first_match(SPECIFIC_RX, leaf)
    if own:
        return own, own
    gen = first_match(GENERIC_RX, leaf) or OTHER
    return nearest_specific(frames[:-1]), gen


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    ops = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    unit_ns = float(os.environ.get("COUNT_NS", "1"))
    total = 0
    attributed = defaultdict(int)
    selfc = defaultdict(int)
    src = defaultdict(int)
    threads = defaultdict(int)
    with open(sys.argv[1]) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            n = int(count)
            frames = [clean(x) for x in stack.split(";")]
            total += n
            threads[frames[0]] += n
            a, sg = classify(frames[1:] or frames)
            attributed[a] += n
            selfc[sg] += n
            seen = set()
            for fr in frames:
                for g, rx in SRC_COMPILED:
                    if g not in seen and rx.search(fr):
                        seen.add(g)
                        src[g] += n
    if not total:
        print("no samples")
        return 1

    def cost(n):
        s = f"{100.0 * n / total:5.1f}%"
        if ops:
            s += f" {n * unit_ns / 1000.0 / ops:6.2f} us/op"
        return s

    print(f"CPU sampled: {total * unit_ns / 1e9:.3f} s" + (f", operations: {ops}" if ops else ""))
    print("(us/op are inflated by perf's own overhead; compare shares, or runs made the same way)")
    print("\nby thread:")
    for t, n in sorted(threads.items(), key=lambda kv: -kv[1]):
        print(f"  {cost(n)}  {t}")
    print("\nattributed (leaf charged to the nearest specific frame above it; kernel by what it does and who asked):")
    for g, n in sorted(attributed.items(), key=lambda kv: -kv[1]):
        print(f"  {cost(n)}  {g}")
    print("\nself (leaf frame only):")
    for g, n in sorted(selfc.items(), key=lambda kv: -kv[1]):
        print(f"  {cost(n)}  {g}")
    print("\nengine functions (inclusive):")
    for g, _ in SRC:
        if src[g]:
            print(f"  {cost(src[g])}  {g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
