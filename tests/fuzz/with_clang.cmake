# Run by the ctest test fuzz_with_clang when the main build is not clang:
# configures tests/fuzz (SRC) with clang in BIN, builds it and runs its
# `fuzz` tests for SECONDS each. Fails if any step fails.
#   cmake -DSRC=... -DBIN=... -DSECONDS=12 -P with_clang.cmake

find_program(clang NAMES clang clang-14)
if(NOT clang)
  message(FATAL_ERROR "fuzz: clang not found; `make deps` installs clang and libclang-rt-14-dev")
endif()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fuzz: `${ARGN}` failed (${rc})")
  endif()
endfunction()

run(${CMAKE_COMMAND} -S ${SRC} -B ${BIN} -DCMAKE_C_COMPILER=${clang}
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUDFU_FUZZ_SECONDS=${SECONDS})
run(${CMAKE_COMMAND} --build ${BIN} --parallel 2)
run(${CMAKE_CTEST_COMMAND} --test-dir ${BIN} -L fuzz --output-on-failure)
