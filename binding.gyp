{
  "targets": [
    {
      "target_name": "rangepool",
      "sources": ["native/pool.cc", "native/registry.cc", "native/crc32c.cc", "native/crc64nvme.cc", "native/file_lock.cc", "native/file_space.cc", "native/tls_aead.cc", "native/tls_records.cc", "native/tls_reader.cc", "native/addon_tls.cc", "native/addon.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "RANGEPOOL_SOURCE_HASH=\"<!(node scripts/native-hash.cjs)\""
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"],
      "conditions": [
        ["OS=='linux'", {"ldflags": ["-Wl,--version-script=<(module_root_dir)/native/exports.map"]}],
        ["OS=='mac'", {"xcode_settings": {"CLANG_CXX_LANGUAGE_STANDARD": "c++17", "GCC_ENABLE_CPP_EXCEPTIONS": "YES"}}]
      ]
    }
  ]
}
