"""count_equal.py FILE_A REGEX_A FILE_B REGEX_B: exits 1 unless both files hold
the same (non-zero) number of lines matching their regex; prints the counts."""
import re
import sys

a = sum(1 for line in open(sys.argv[1]) if re.search(sys.argv[2], line))
b = sum(1 for line in open(sys.argv[3]) if re.search(sys.argv[4], line))
print(f"{a} {b}")
sys.exit(0 if a == b and a > 0 else 1)
