# The layering rule of docs/architecture.md that the compiler cannot see
# (every library shares one include root): nothing under net/ includes a
# storage/ or RocksDB header; the network reaches the store only through
# actors. Run as `cmake -DROOT=<source dir> -P layering.cmake`.
file(GLOB_RECURSE sources "${ROOT}/net/*.cpp" "${ROOT}/net/*.hpp")
set(offenders "")
foreach(file IN LISTS sources)
  file(STRINGS "${file}" includes
       REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](storage|rocksdb)/")
  if(includes)
    file(RELATIVE_PATH rel "${ROOT}" "${file}")
    list(APPEND offenders "${rel}: ${includes}")
  endif()
endforeach()
list(LENGTH sources count)
if(count EQUAL 0)
  message(FATAL_ERROR "no sources found under ${ROOT}/net")
endif()
if(offenders)
  list(JOIN offenders "\n  " text)
  message(FATAL_ERROR "net/ must not include storage/ (use an actor):\n  ${text}")
endif()
message(STATUS "layering: ${count} files under net/ checked")
