# Build-time script (cmake -P) run by nod_embed_web (cmake/NodWeb.cmake) for
# one file: writes OUT, a C++ source defining `nod::net::web_data::SYMBOL`,
# a `web_asset` with the file's bytes, its gzip form, content type and
# ETags.
#
# -DIN=<file> -DOUT=<source> -DURL=<path> -DSYMBOL=<name> -DGZIP=<gzip>

foreach(var IN ITEMS IN OUT URL SYMBOL GZIP)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_web_asset.cmake: -D${var}=... missing")
  endif()
endforeach()

# Content type by extension; text types say their charset.
get_filename_component(name "${IN}" NAME)
string(TOLOWER "${name}" name)
set(type "application/octet-stream")
set(text_types
  "html=text/html" "htm=text/html" "js=text/javascript"
  "mjs=text/javascript" "css=text/css" "svg=image/svg+xml"
  "json=application/json" "map=application/json"
  "webmanifest=application/manifest+json" "txt=text/plain")
set(binary_types
  "png=image/png" "ico=image/x-icon" "jpg=image/jpeg" "jpeg=image/jpeg"
  "gif=image/gif" "webp=image/webp" "woff2=font/woff2" "woff=font/woff")
if(name MATCHES "\\.([a-z0-9]+)$")
  set(ext "${CMAKE_MATCH_1}")
  foreach(entry IN LISTS text_types)
    if(entry MATCHES "^${ext}=(.*)$")
      set(type "${CMAKE_MATCH_1}; charset=utf-8")
    endif()
  endforeach()
  foreach(entry IN LISTS binary_types)
    if(entry MATCHES "^${ext}=(.*)$")
      set(type "${CMAKE_MATCH_1}")
    endif()
  endforeach()
endif()

# gzip -n: no name or time stamp, so the output depends on the content only.
set(gz "${OUT}.gz")
execute_process(COMMAND "${GZIP}" -9 -n -c "${IN}" OUTPUT_FILE "${gz}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip ${IN} failed: ${rc}")
endif()

# A strong ETag per representation: the same content always gets the same
# tag, and the gzip form its own (RFC 9110 8.8.3.3).
file(SHA256 "${IN}" hash)
string(SUBSTRING "${hash}" 0 16 hash)
set(etag "\\\"${hash}\\\"")
set(gzip_etag "\\\"${hash}-gzip\\\"")

# `0x3c,0x21,...`, 32 bytes a line. Empty input yields no array (C++ has no
# zero-length arrays).
function(byte_array var file)
  file(READ "${file}" hex HEX)
  string(LENGTH "${hex}" length)
  math(EXPR size "${length} / 2")
  if(size EQUAL 0)
    set(${var} "" PARENT_SCOPE)
    set(${var}_size 0 PARENT_SCOPE)
    return()
  endif()
  string(REGEX REPLACE "(................................................................)"
                       "\\1\n" hex "${hex}")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  set(${var} "${hex}" PARENT_SCOPE)
  set(${var}_size ${size} PARENT_SCOPE)
endfunction()

byte_array(raw "${IN}")
byte_array(packed "${gz}")

set(arrays "")
set(raw_ref "nullptr, 0")
set(gzip_ref "nullptr, 0")
if(raw_size GREATER 0)
  string(APPEND arrays "const unsigned char raw[] = {\n${raw}\n};\n")
  set(raw_ref "raw, sizeof(raw)")
endif()
# The gzip form only when it is smaller (not for PNG, WOFF2, tiny files).
if(packed_size GREATER 0 AND packed_size LESS raw_size)
  string(APPEND arrays "const unsigned char packed[] = {\n${packed}\n};\n")
  set(gzip_ref "packed, sizeof(packed)")
endif()

file(WRITE "${OUT}" "// Generated from ${IN} by cmake/embed_web_asset.cmake; do not edit.
#include \"net/web.hpp\"

namespace {
${arrays}} // namespace

namespace nod::net::web_data {
extern const web_asset ${SYMBOL};
const web_asset ${SYMBOL} = {
  \"${URL}\", \"${type}\", \"${etag}\", \"${gzip_etag}\",
  ${raw_ref}, ${gzip_ref},
};
} // namespace nod::net::web_data
")
