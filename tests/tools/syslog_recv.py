#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""syslog_recv.py: a syslog receiver and checker for tests/kernel/90-outputs.sh.

  syslog_recv.py listen tcp|udp|unix ADDR OUT
      Receives RFC 5424 messages (TCP: RFC 6587 octet counting, any number of
      connections one after another; UDP and unix: one per datagram) and
      appends each to OUT as one JSON string per line. Prints "listening"
      once bound. A TCP frame cut by a closed connection is recorded as
      {"torn": <bytes>}.

  syslog_recv.py check NAME OUT STATE_DIR [options]
      Checks the messages in OUT against the log in STATE_DIR/log and prints
      one TAP-like line per check ("ok - NAME: ..." / "not ok - NAME: ...");
      exit status 1 if any failed.
        --facility N     the facility every message must carry
        --pid PID        PROCID
        --host NAME      HOSTNAME
        --from SEQ       only entries from SEQ (a daemon run that began there)
        --to SEQ         ... below SEQ
        --format json|ocsf
        --exact          every entry of the range arrives exactly once, in
                         order, and every checkpoint note of the range too
        --ordered        entries arrive in increasing seq order without
                         duplicates (gaps allowed: counted drops)
"""
import base64
import glob
import json
import os
import re
import selectors
import socket
import sys

HEADER = re.compile(
    r'^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z) (\S{1,255}) (\S{1,48}) '
    r'(\S{1,128}) (\S{1,32}) ')
SD_ENTRY = re.compile(r'^\[agentguard@32473 seq="(\d+)"\] ')
SD_CP = re.compile(r'^\[agentguard@32473 origin="((?:[^"\\\]]|\\.)*)" size="(\d+)" '
                   r'root="([A-Za-z0-9+/=]+)"\] ')


def listen(kind, addr, out):
    f = open(out, 'a', buffering=1)

    def record(m):
        f.write(json.dumps(m.decode('utf-8', 'surrogateescape'),
                           ensure_ascii=True) + '\n')

    if kind == 'unix':
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(addr)
    else:
        host, port = addr.rsplit(':', 1)
        s = socket.socket(socket.AF_INET,
                          socket.SOCK_STREAM if kind == 'tcp' else socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if kind == 'udp':
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.bind((host, int(port)))
        if kind == 'tcp':
            s.listen(8)
    print('listening', flush=True)
    if kind != 'tcp':
        while True:
            record(s.recv(1 << 17))
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    bufs = {}
    while True:
        for key, _ in sel.select():
            if key.fileobj is s:
                c, _ = s.accept()
                bufs[c] = b''
                sel.register(c, selectors.EVENT_READ)
                continue
            c = key.fileobj
            data = c.recv(1 << 16)
            if not data:
                if bufs[c]:
                    f.write(json.dumps({'torn': len(bufs[c])}) + '\n')
                sel.unregister(c)
                c.close()
                del bufs[c]
                continue
            b = bufs[c] + data
            while True:
                sp = b.find(b' ')
                if sp < 0:
                    break
                n = int(b[:sp])
                if len(b) < sp + 1 + n:
                    break
                record(b[sp + 1:sp + 1 + n])
                b = b[sp + 1 + n:]
            bufs[c] = b


def log_entries(state):
    ents = []
    for name in sorted(glob.glob(os.path.join(state, 'log', 'entries-*.jsonl'))):
        with open(name, 'rb') as fh:
            for line in fh.read().split(b'\n'):
                if line:
                    ents.append(line.decode())
    return {json.loads(e)['seq']: e for e in ents}


def checkpoint_notes(state):
    with open(os.path.join(state, 'log', 'checkpoints'), 'rb') as fh:
        data = fh.read().decode()
    notes, cur = [], ''
    for line in data.splitlines(keepends=True):
        cur += line
        if line.startswith('\u2014 '):
            notes.append(cur)
            cur = ''
    return notes


def severity(e):
    d = e.get('decision')
    if d == 'deny':
        return 4
    if d == 'audit':
        return 5
    if e['type'] in ('events.lost', 'log.recovered', 'manifest.rejected', 'syslog.dropped'):
        return 4
    return 6


def check(argv):
    name, out, state = argv[0], argv[1], argv[2]
    opts = {'--format': 'json'}
    flags = set()
    i = 3
    while i < len(argv):
        if argv[i] in ('--exact', '--ordered'):
            flags.add(argv[i])
            i += 1
        else:
            opts[argv[i]] = argv[i + 1]
            i += 2
    lo = int(opts.get('--from', 0))
    hi = int(opts.get('--to', 1 << 62))
    results = []

    def result(ok, what, why=''):
        results.append(ok)
        print(('ok - %s: %s' % (name, what)) if ok else
              ('not ok - %s: %s: %s' % (name, what, why)), flush=True)

    entries = log_entries(state)
    notes = checkpoint_notes(state)
    with open(out) as fh:
        msgs = [json.loads(l) for l in fh if l.strip()]
    torn = [m for m in msgs if isinstance(m, dict)]
    msgs = [m for m in msgs if isinstance(m, str)]
    got_entries, got_cps, bad = [], [], []
    for m in msgs:
        h = HEADER.match(m)
        if not h:
            bad.append('no RFC 5424 header: %r' % m[:80])
            continue
        pri, ts, host, app, procid, msgid = h.groups()
        rest = m[h.end():]
        fac, sev = int(pri) // 8, int(pri) % 8
        if app != 'agentguard':
            bad.append('APP-NAME %r' % app)
        if '--facility' in opts and fac != int(opts['--facility']):
            bad.append('facility %d, expected %s' % (fac, opts['--facility']))
        if '--pid' in opts and procid != opts['--pid']:
            bad.append('PROCID %s, expected %s' % (procid, opts['--pid']))
        if '--host' in opts and host != opts['--host']:
            bad.append('HOSTNAME %s, expected %s' % (host, opts['--host']))
        if msgid == 'checkpoint':
            sd = SD_CP.match(rest)
            if not sd:
                bad.append('checkpoint without its structured data: %r' % rest[:80])
                continue
            note = rest[sd.end():]
            lines = note.split('\n')
            if (sev != 6 or sd.group(1).replace('\\', '') != lines[0] or
                    sd.group(2) != lines[1] or sd.group(3) != lines[2]):
                bad.append('checkpoint fields do not match its note: %r' % rest[:120])
            if lo < int(sd.group(2)) <= hi:
                got_cps.append(note)
            continue
        sd = SD_ENTRY.match(rest)
        if not sd:
            bad.append('entry without seq: %r' % rest[:80])
            continue
        seq = int(sd.group(1))
        body = rest[sd.end():]
        if seq < lo or seq >= hi:
            continue
        got_entries.append(seq)
        e = entries.get(seq)
        if e is None:
            bad.append('entry %d is not in the log' % seq)
            continue
        ej = json.loads(e)
        if msgid != ej['type']:
            bad.append('entry %d: MSGID %s, type %s' % (seq, msgid, ej['type']))
        if sev != severity(ej):
            bad.append('entry %d: severity %d, expected %d' % (seq, sev, severity(ej)))
        want_ts = re.sub(r'(\.\d{6})\d*Z$', r'\1Z', ej['time'])
        if ts != want_ts:
            bad.append('entry %d: TIMESTAMP %s, entry time %s' % (seq, ts, ej['time']))
        if opts['--format'] == 'json':
            if body != e:
                bad.append('entry %d: the message is not the entry' % seq)
        else:
            o = json.loads(body)
            md = o.get('metadata', {})
            if (md.get('sequence') != seq or md.get('version') != '1.1.0' or
                    not md.get('uid', '').endswith(':%d' % seq) or
                    o.get('type_uid') != o.get('class_uid', -1) * 100 + o.get('activity_id', 0) or
                    o.get('unmapped', {}).get('type') != ej['type']):
                bad.append('entry %d: OCSF event does not match: %r' % (seq, body[:160]))
    want = sorted(s for s in entries if lo <= s < hi)
    result(not bad, 'the RFC 5424 header, structured data and message of %d messages'
           % len(msgs), '; '.join(bad[:3]) + (' (+%d more)' % (len(bad) - 3) if len(bad) > 3 else ''))
    result(not torn, 'no frame cut short', '%d torn frames' % len(torn))
    if '--exact' in flags:
        result(got_entries == want, 'every entry %d..%d arrived once, in order' %
               (want[0] if want else -1, want[-1] if want else -1),
               'got %d messages for %d entries; first difference at %s' % (
                   len(got_entries), len(want),
                   next((i for i, (a, b) in enumerate(zip(got_entries, want)) if a != b),
                        min(len(got_entries), len(want)))))
        want_cps = [n for n in notes if lo < int(n.split('\n')[1]) <= hi]
        result(got_cps == want_cps and want_cps,
               'every checkpoint (%d) was mirrored, in order, byte for byte' % len(want_cps),
               'got %d of %d' % (len(got_cps), len(want_cps)))
    if '--ordered' in flags:
        result(all(a < b for a, b in zip(got_entries, got_entries[1:])),
               'entries in seq order, none twice (%d of %d)' % (len(got_entries), len(want)),
               'out of order or repeated')
    return 0 if all(results) else 1


if __name__ == '__main__':
    if len(sys.argv) >= 5 and sys.argv[1] == 'listen':
        listen(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) >= 5 and sys.argv[1] == 'check':
        sys.exit(check(sys.argv[2:]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
