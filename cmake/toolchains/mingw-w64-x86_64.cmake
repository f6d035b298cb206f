# Cross-builds the engine for 64-bit Windows with Debian's MinGW-w64 (g++-mingw-w64-x86-64-posix: the
# posix threads variant, which std::thread and std::mutex need). Tests run under wine.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)

set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Static: the executables need none of MinGW's DLLs (under wine a missing DLL fails silently, exit 53).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

# Debian's wine64 loader is not on PATH; an absolute path, or ctest marks every test "Not Run".
find_program(COMMY_WINE NAMES wine64 wine PATHS /usr/lib/wine NO_DEFAULT_PATH)
if(NOT COMMY_WINE)
    find_program(COMMY_WINE NAMES wine64 wine)
endif()
if(COMMY_WINE)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${COMMY_WINE})
endif()
