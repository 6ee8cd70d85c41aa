#!/usr/bin/env python3
"""Copy a piece of sql/src into its section of the upgrade script.

tools/sync_upgrade.py sql/src/75_breaches.sql "personal data breaches (new in 0.2.0)"

The section starts at its header (a line of dashes, "-- <piece>: <title>",
a line of dashes) and runs to the next such header; it is replaced by the
piece's body (from its first line of dashes), or appended when missing.
test/upgrade/upgrade.sh checks that the result equals a fresh install."""
import sys,re
import os
up=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'sql', 'pg_privacy--0.1.0--0.2.0.sql')
piece=sys.argv[1]; title=sys.argv[2]
name=piece.split('/')[-1]
DASH='-------------------------------------------------------------------------------\n'
body=open(piece).read()
body=body[body.index(DASH):]
s=open(up).read()
hdr=DASH+f'-- {name}: {title}\n'+DASH+'\n'
heads=[m.start() for m in re.finditer(r'^'+re.escape(DASH)+r'-- \d\d_\w+\.sql: ', s, re.M)]
mine=[h for h in heads if s.startswith(DASH+f'-- {name}:', h)]
if mine:
    start=mine[0]
    later=[h for h in heads if h>start]
    end=later[0] if later else len(s)
    s=s[:start]+hdr+body+('\n' if later else '')+s[end:]
else:
    s=s.rstrip('\n')+'\n\n'+hdr+body
open(up,'w').write(s)
