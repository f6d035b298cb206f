# commy_set_warnings(<target>): the warning set every Commy target builds with.
function(commy_set_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
        -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
    if(COMMY_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
