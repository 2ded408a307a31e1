"""A solver helper that takes a solve and never answers: HiGHS running past its time limit.

Started by tests/allocator/test_solver_process.py in place of allocator.solver_process.
"""

import sys
import time
from multiprocessing.connection import Connection

from allocator.solver_process import READY

if __name__ == "__main__":
    ask = Connection(int(sys.argv[1]), writable=False)
    answer = Connection(int(sys.argv[2]), readable=False)  # kept open: no answer, no end
    answer.send_bytes(READY)
    for _ in range(4):  # the model, its parameters, the hint and the solver
        ask.recv_bytes()
    time.sleep(3600)
