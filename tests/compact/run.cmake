# Run by the ctest test compact_profile: configures the whole tree in BIN
# with the UDFU_CFG_* options DEFS (device side and tests only), builds it
# and runs its unit, conformance, regress and powerloss tests.
#   cmake -DSRC=... -DBIN=... -DDEFS="A=0,B=0" -DCC=gcc -P run.cmake
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "compact: `${ARGN}` failed (${rc})")
  endif()
endfunction()

run(${CMAKE_COMMAND} -S ${SRC} -B ${BIN} -DCMAKE_C_COMPILER=${CC}
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUDFU_BUILD_HOST=OFF "-DUDFU_DEFINES=${DEFS}")
run(${CMAKE_COMMAND} --build ${BIN} --parallel 2)
run(${CMAKE_CTEST_COMMAND} --test-dir ${BIN} -L "unit|conformance|regress|powerloss|boot"
    -LE fuzz --output-on-failure)
