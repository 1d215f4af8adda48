// Names are bytes: escaped for text so that none can forge a line, carried in
// JSON losslessly, read back from /proc and from trace headers exactly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "events/abi.h"
#include "model/maps_format.h"
#include "model/model.h"
#include "record/trace_file.h"
#include "output/event_printer.h"
#include "output/format.h"
#include "output/text_output.h"
#include "util/escape.h"

namespace vmatrace {
namespace {

using nlohmann::json;

std::string random_bytes(std::mt19937& rng, size_t max_len) {
  std::uniform_int_distribution<size_t> len(0, max_len);
  // Mostly the bytes that matter: ASCII, controls, continuation and lead bytes.
  static const char bytes[] = "az/ .\\\n\t\r\x1b\x7f\x80\xbf\xc2\xc3\xe0\xed\xf0\xf4\xf5\xff";  // and its NUL
  static const std::string alphabet = std::string(bytes, sizeof(bytes)) + "\xc3\xa9" "\xe2\x82\xac" "\xf0\x9f\x98\x80";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::string s(len(rng), '\0');
  for (auto& c : s) c = alphabet[pick(rng)];
  return s;
}

bool nlohmann_accepts(const std::string& s) {
  try {
    (void)json(s).dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

TEST(EscapeText, ControlCharactersAndBackslashAsTheKernelWritesANewline) {
  EXPECT_EQ(escape_text("a\nb"), "a\\012b");
  EXPECT_EQ(escape_text(std::string("\t\r\x1b\x7f\x01", 5)), "\\011\\015\\033\\177\\001");
  EXPECT_EQ(escape_text(std::string("nul\0x", 5)), "nul\\000x");
  EXPECT_EQ(escape_text("C:\\012"), "C:\\134012") << "a backslash cannot pass for an escape";
  EXPECT_EQ(escape_text("/usr/lib/libc.so.6 (deleted)"), "/usr/lib/libc.so.6 (deleted)");
  EXPECT_EQ(escape_text("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(escape_text("b\xff\xfe"), "b\xff\xfe") << "bytes >= 0x80 as the kernel prints them";
}

TEST(EscapeText, Utf8ModeAlsoEscapesWhatIsNotUtf8) {
  EXPECT_EQ(escape_text("b\xff\xfe", TextEscape::Utf8), "b\\377\\376");
  EXPECT_EQ(escape_text("caf\xc3\xa9 \xe2\x82\xac", TextEscape::Utf8), "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(escape_text("cut \xe2\x82", TextEscape::Utf8), "cut \\342\\202");
  EXPECT_EQ(escape_text("\xc0\x80", TextEscape::Utf8), "\\300\\200") << "overlong NUL";
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; i++)
    EXPECT_TRUE(is_valid_utf8(escape_text(random_bytes(rng, 40), TextEscape::Utf8)));
}

TEST(EscapeText, NoNameMakesALineOrAControlCharacter) {
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; i++) {
    std::string s = escape_text(random_bytes(rng, 40));
    for (char c : s) ASSERT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << s;
  }
}

TEST(Utf8, ValidityIsNlohmannsOwnRule) {
  for (const char* s : {"", "plain", "\xc3\xa9", "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf"})
    EXPECT_TRUE(is_valid_utf8(s)) << s;
  for (const char* s : {"\xff", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                        "\xf5\x80\x80\x80", "\xc3", "\xe2\x82", "\x80"})
    EXPECT_FALSE(is_valid_utf8(s)) << s;
  std::mt19937 rng(3);
  for (int i = 0; i < 5000; i++) {
    std::string s = random_bytes(rng, 12);
    ASSERT_EQ(is_valid_utf8(s), nlohmann_accepts(s)) << to_hex(s);
  }
}

TEST(Hex, RoundTripsAndRejectsJunk) {
  EXPECT_EQ(to_hex(std::string("\x00\xff a", 4)), "00ff2061");
  EXPECT_EQ(from_hex("00FF2061"), std::string("\x00\xff a", 4));
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

TEST(DumpJson, ValidUtf8IsWrittenAsItIs) {
  nlohmann::ordered_json j = {{"path", "/tmp/caf\xc3\xa9\n"}, {"command", {"a", "b"}}, {"n", 1}};
  EXPECT_EQ(dump_json(j), j.dump());
}

TEST(DumpJson, OtherBytesGetAHexTwinThatRoundTrips) {
  nlohmann::ordered_json j;
  j["kind"] = "exec";
  j["filename"] = "/bin/\xff";
  j["vma"] = {{"path", std::string("/x\xfe\n\0y", 6)}, {"inode", 3}};
  j["command"] = {"/bin/true", "\xff", "ok"};
  auto back = json::parse(dump_json(j));
  EXPECT_EQ(back["filename"], "/bin/\xef\xbf\xbd") << "for people: U+FFFD";
  EXPECT_EQ(back["filename_hex"], "2f62696e2fff");
  EXPECT_EQ(json_bytes(back, "filename"), "/bin/\xff");
  EXPECT_EQ(json_bytes(back["vma"], "path"), std::string("/x\xfe\n\0y", 6));
  EXPECT_FALSE(back["vma"].contains("inode_hex"));
  EXPECT_EQ(json_bytes_list(back, "command"), (std::vector<std::string>{"/bin/true", "\xff", "ok"}));
  EXPECT_EQ(json_bytes(back, "kind"), "exec") << "no twin: the string itself";
  EXPECT_FALSE(back.contains("kind_hex"));
}

TEST(DumpJson, AnyBytesRoundTrip) {
  std::mt19937 rng(5);
  for (int i = 0; i < 2000; i++) {
    std::string a = random_bytes(rng, 30), b = random_bytes(rng, 30);
    json j = {{"path", a}, {"list", {a, b}}, {"nested", {{{"path", b}}}}};
    auto back = json::parse(dump_json(j, i % 2 ? 2 : -1));
    ASSERT_EQ(json_bytes(back, "path"), a);
    ASSERT_EQ(json_bytes_list(back, "list"), (std::vector<std::string>{a, b}));
    ASSERT_EQ(json_bytes(back["nested"][0], "path"), b);
  }
}

TEST(DumpJson, WrongTypesAreErrorsNotExceptions) {
  json j = {{"path", 3}, {"list", "x"}, {"odd", "x"}, {"odd_hex", "zz"}};
  EXPECT_FALSE(json_bytes(j, "path"));
  EXPECT_FALSE(json_bytes_list(j, "list"));
  EXPECT_FALSE(json_bytes(j, "odd"));
  EXPECT_EQ(json_bytes(j, "absent"), "");
}

TEST(TraceHeader, NamesThatAreNotUtf8RoundTrip) {
  TraceMeta m;
  m.vmatrace_version = "test";
  m.kernel_release = "6.18";
  m.hostname = "host\xfe";
  m.target_pid = 42;
  m.command = {"/bin/true", "\xff", "a\nb", std::string("nul\0", 4)};
  m.maps_at_attach = "00400000-00401000 r--p 00000000 fe:00 12 /tmp/b\xff\\012x\n";
  m.vsyscall_line = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]";
  m.syscall_hook = "mmap_lock\xff";  // a file's header can say anything
  auto back = TraceMeta::from_json(m.to_json());
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->command, m.command);
  EXPECT_EQ(back->hostname, m.hostname);
  EXPECT_EQ(back->maps_at_attach, m.maps_at_attach);
  EXPECT_EQ(back->vsyscall_line, m.vsyscall_line);
  EXPECT_EQ(back->syscall_hook, m.syscall_hook);
  EXPECT_EQ(back->target_pid, 42u);
}

TEST(MapsText, ANewlineInANameIsPrintedAndParsedAsTheKernelDoes) {
  VmaInfo v;
  v.start = 0x400000;
  v.end = 0x401000;
  v.flags = kVmRead;
  v.ino = 12;
  v.dev = 254 << 20;
  v.path_flags = VT_PATH_FILE;
  v.path = "/tmp/a\nfake line";
  std::string name = v.path;
  std::string line = format_maps_line(v, name);
  EXPECT_EQ(line.substr(line.find('/')), "/tmp/a\\012fake line");
  EXPECT_EQ(maps_line(v), "00400000-00401000 r--p 00000000 fe:00 12 /tmp/a\\012fake line");
  auto parsed = parse_maps(line + "\n");
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].name, name);
  EXPECT_EQ(parsed[0].vma.path, name) << "the bytes, to open and to compare with BPF's";
  EXPECT_EQ(format_maps_line(parsed[0].vma, parsed[0].name), line);
  v.path = "/tmp/b\xff";
  EXPECT_EQ(maps_line(v), "00400000-00401000 r--p 00000000 fe:00 12 /tmp/b\xff") << "raw, as the kernel prints it";
}

Event exec_event(const std::string& filename) {
  Event e;
  e.kind = Kind::Exec;
  e.ts = 1000;
  e.pid = e.tid = 7;
  e.filename = filename;
  return e;
}

TEST(EventLines, ANameCannotForgeATextLine) {
  EventPrinter p(stdout, false, 0);
  std::string line = p.format(exec_event("/tmp/x\n    0.000001 7/7 fault 0x1 ip=0x2 read minor"));
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_NE(line.find("exec /tmp/x\\012    0.000001"), std::string::npos) << line;
  Event v;
  v.kind = Kind::Vma;
  v.pid = v.tid = 7;
  v.vma.start = 0x1000;
  v.vma.end = 0x2000;
  v.vma.path_flags = VT_PATH_FILE;
  v.vma.path = "/a\nb";
  EventPrinter text(stdout, false, 0);
  text.format(v);  // kept for the syscall line that follows
  Event mmap;
  mmap.kind = Kind::Syscall;
  mmap.pid = mmap.tid = 7;
  mmap.sc = VT_SC_MMAP;
  mmap.ret = 0x1000;
  line = text.format(mmap);
  EXPECT_NE(line.find("/a\\012b]"), std::string::npos) << line;
}

TEST(EventLines, JsonCarriesBytesExactly) {
  EventPrinter p(stdout, true, 0);
  auto j = json::parse(p.format(exec_event("/tmp/\xff\n")));
  EXPECT_EQ(json_bytes(j, "filename"), "/tmp/\xff\n");
}

TEST(StormText, NamesAreEscapedAndEveryLineEnds) {
  Analysis a;
  Storm s;
  s.faults = 5000;
  s.vmas.push_back({"/tmp/a\nfake vma line", 0x1000, 0x2000, 4000});
  s.vmas.push_back({"/" + std::string(3000, 'x'), 0x2000, 0x3000, 1000});
  s.code.push_back({"f\n (m)", 0, 0, 5000});
  a.storms.push_back(s);
  TextOutput out;
  out.storms(a);
  std::string text = out.document();
  EXPECT_NE(text.find("1000-2000 /tmp/a\\012fake vma line\n"), std::string::npos) << text;
  EXPECT_NE(text.find("5000  f\\012 (m)\n"), std::string::npos) << text;
  EXPECT_NE(text.find(std::string(3000, 'x') + "\n"), std::string::npos) << "a long name is not cut";
}

TEST(TopVmas, ALongNameIsNotCut) {
  TraceMeta meta;
  meta.target_pid = 7;
  const std::string name = "/" + std::string(3000, 'x');
  meta.maps_at_attach = "00400000-00401000 r-xp 00000000 fe:00 1 " + name + "\n";
  Model model(meta);
  Event f;
  f.kind = Kind::Fault;
  f.pid = f.tid = 7;
  f.ts = 1;
  f.addr = 0x400010;
  f.error_code = VT_PF_USER;
  model.apply(f);
  TextOutput out;
  out.vmas(model);
  std::string text = out.document();
  EXPECT_NE(text.find(" " + name + "\n"), std::string::npos) << "the name whole, and its line ended";
}

TEST(MetaForText, EscapesTheNamesTheSummaryPrints) {
  TraceMeta m;
  m.command = {"/bin/x", "a\nb"};
  m.hostname = "h\n";
  m.syscall_hook = "fentry\n# forged";
  auto t = meta_for_text(m);
  EXPECT_EQ(t.syscall_hook, "fentry\\012# forged");
  EXPECT_EQ(t.command, (std::vector<std::string>{"/bin/x", "a\\012b"}));
  EXPECT_EQ(t.hostname, "h\\012");
}

}  // namespace
}  // namespace vmatrace
