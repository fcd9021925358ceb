// Compiles Asio and Beast once for the whole program. Every translation unit
// that uses them is built with BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION (the nod_boost target) and links this.
// Asio's SSL part has its own source file (it needs OpenSSL, which nod_asio
// links).

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
