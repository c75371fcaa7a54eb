#!/usr/bin/env bash
# Regenerates the bundled font subsets from Noto Sans CJK (SIL OFL 1.1).
# Needs: Debian's fonts-noto-cjk (NotoSansCJK-{Regular,Bold}.ttc) and `pip install fonttools`.
# Face 2 of the collections is "Noto Sans CJK SC" (Simplified Chinese).
set -euo pipefail
cd "$(dirname "$0")"
SRC=${SRC:-/usr/share/fonts/opentype/noto}
# GB2312 (all 7,445 characters: hanzi levels 1 and 2, symbols, kana, Greek, Cyrillic), decoded
# from its own byte table so the list is exact, plus ASCII, Latin-1, general punctuation,
# CJK symbols/punctuation and the full-width forms.
python3 - > gb2312-latin.txt <<'PY'
cps = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180)) | set(range(0x2000, 0x2070))
cps |= set(range(0x20A0, 0x20C0)) | set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            cps.update(ord(c) for c in bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
print(",".join(f"U+{c:04X}" for c in sorted(cps)))
PY
# Regular: the whole range (customer names, references, everything the data holds).
pyftsubset "$SRC/NotoSansCJK-Regular.ttc" --font-number=2 --unicodes-file=gb2312-latin.txt \
  --layout-features='kern,liga,locl,vert,palt' --no-hinting --name-IDs='*' --name-languages='*' \
  --output-file=NotoSansSC-Regular-GB2312.otf
# Bold: Latin only; the renderer uses it for its own fixed labels and headings, never for data.
pyftsubset "$SRC/NotoSansCJK-Bold.ttc" --font-number=2 --unicodes='U+0020-007E,U+00A0-00FF,U+2010-2027' \
  --layout-features='kern,liga' --no-hinting --name-IDs='*' --name-languages='*' \
  --output-file=NotoSansSC-Bold-Latin.otf
rm gb2312-latin.txt
ls -l ./*.otf
