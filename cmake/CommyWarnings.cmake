# commy_set_warnings(<target>): the warning set every Commy target builds with.
function(commy_set_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
        -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
    # GCC 12 for MinGW warns inside std::string::assign at -O2 (-Wrestrict false positive, GCC bug 105651).
    if(MINGW AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
        target_compile_options(${target} PRIVATE -Wno-restrict)
    endif()
    if(COMMY_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
