# cmake -DIN=<file.proto> -DOUT=<copy.proto> -P strong_imports.cmake
# Copies a .proto file, turning `import weak "x";` into `import "x";` (see
# CMakeLists.txt for why).
file(READ ${IN} text)
string(REGEX REPLACE "(^|\n)import[ \t]+weak[ \t]+" "\\1import " text "${text}")
if(text MATCHES "(^|\n)import[ \t]+weak")
  message(FATAL_ERROR "${IN}: an import weak was left")
endif()
file(WRITE ${OUT} "${text}")
