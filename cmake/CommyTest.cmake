# commy_add_test(<unit> LAYER <layer> SOURCES <files...> [LIBS <targets...>] [TIMEOUT <s>])
#
# Builds tst_<unit> from tst_<unit>.cpp plus SOURCES, links Qt::Test and LIBS, and registers it with
# CTest under the label of its layer (shm, protocol, broker, client, app, qml).
function(commy_add_test unit)
    cmake_parse_arguments(ARG "" "LAYER;TIMEOUT" "SOURCES;LIBS" ${ARGN})
    if(NOT ARG_LAYER)
        message(FATAL_ERROR "commy_add_test(${unit}): LAYER is required")
    endif()
    set(target tst_${unit})
    add_executable(${target} tst_${unit}.cpp ${ARG_SOURCES})
    target_link_libraries(${target} PRIVATE Qt6::Test ${ARG_LIBS})
    commy_set_warnings(${target})
    add_test(NAME ${target} COMMAND ${target})
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 120)
    endif()
    set_tests_properties(${target} PROPERTIES
        LABELS ${ARG_LAYER}
        TIMEOUT ${ARG_TIMEOUT}
        ENVIRONMENT "QT_QPA_PLATFORM=offscreen;COMMY_TEST_BIN_DIR=${CMAKE_BINARY_DIR}/bin")
endfunction()
