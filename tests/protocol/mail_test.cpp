#include "protocol/credentials.hpp"
#include "protocol/mail.hpp"

#include <gtest/gtest.h>

using namespace nod;

TEST(mail, replies_are_read_whole_across_lines) {
  EXPECT_FALSE(mail::parse_reply("250-first\r\n250-sec"));
  auto r = mail::parse_reply(
    "250-mail.example.com\r\n250-STARTTLS\r\n250 AUTH LOGIN PLAIN\r\nrest");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 250);
  EXPECT_EQ(r->text, "mail.example.com\nSTARTTLS\nAUTH LOGIN PLAIN");
  EXPECT_EQ(r->size, std::string_view{"250-mail.example.com\r\n250-STARTTLS\r\n"
                                      "250 AUTH LOGIN PLAIN\r\n"}
                       .size());
  EXPECT_TRUE(mail::offers(*r, "STARTTLS"));
  EXPECT_TRUE(mail::offers(*r, "AUTH PLAIN"));
  EXPECT_TRUE(mail::offers(*r, "auth login"));
  EXPECT_FALSE(mail::offers(*r, "AUTH CRAM-MD5"));
  EXPECT_FALSE(mail::offers(*r, "START"));
  auto bare = mail::parse_reply("220\r\n");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->code, 220);
  auto junk = mail::parse_reply("hello\r\n");
  ASSERT_TRUE(junk);
  EXPECT_EQ(junk->code, -1);
}

TEST(mail, messages_encode_subject_and_body_and_keep_headers_on_one_line) {
  auto text = mail::format_message("Nod <nod@example.com>", "a@example.com",
                                   "Überweisung\r\nBcc: x@evil", "Hallo\n€",
                                   1700000000000, "abc@nod");
  EXPECT_NE(text.find("From: Nod <nod@example.com>\r\n"), std::string::npos);
  EXPECT_NE(text.find("Subject: =?UTF-8?B?"
                      + base64_encode("Überweisung  Bcc: x@evil") + "?=\r\n"),
            std::string::npos);
  EXPECT_EQ(text.find("\r\nBcc:"), std::string::npos);
  EXPECT_NE(text.find("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"),
            std::string::npos);
  EXPECT_NE(text.find("Message-ID: <abc@nod>\r\n"), std::string::npos);
  auto body = text.substr(text.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, base64_encode("Hallo\n€") + "\r\n");
  auto plain = mail::format_message("n@x.y", "a@x.y", "Plain subject",
                                    std::string(200, 'a'), 0, "id");
  EXPECT_NE(plain.find("Subject: Plain subject\r\n"), std::string::npos);
  auto lines = plain.substr(plain.find("\r\n\r\n") + 4);
  EXPECT_EQ(lines.find("\r\n"), 76u);
  EXPECT_EQ(mail::bare_address("Nod <nod@example.com>"), "nod@example.com");
  EXPECT_EQ(mail::bare_address("nod@example.com"), "nod@example.com");
  EXPECT_EQ(mail::auth_plain("nod", "pw"),
            "AUTH PLAIN " + base64_encode(std::string("\0nod\0pw", 7)));
}
