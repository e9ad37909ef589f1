// Node-API glue over tls_reader.h: the TLS exports of the addon (see src/native.ts).
#pragma once

#include <napi.h>

namespace rangepool {

void InitTls(Napi::Env env, Napi::Object exports);

}  // namespace rangepool
