# The seed's thread_file.py against a real peer on UART2's pseudo-terminal: uart_peer.py
# runs the example unchanged from shared/seed-examples, receives "Quectel count=10" ...
# "Quectel count=1", answers "Quecpython" and checks the script's log and exit status.
# The example itself takes 10 s; the peer bounds the whole exchange at 30 s.
add_test(NAME seed/thread_file
         COMMAND ${QP_HOST_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/uart_peer.py
                 --qpy $<TARGET_FILE:qpy> --script ${seed}/thread_file.py)
set_tests_properties(seed/thread_file PROPERTIES LABELS "seed" TIMEOUT 60
                     SKIP_RETURN_CODE 77 ENVIRONMENT "${QP_RUNTIME_TEST_ENV}")
