#include "transforms/message_cleaning.h"

#include <gtest/gtest.h>

namespace deskpipe::transforms {
namespace {

TEST(StripQuotedText, GmailAttributionAndEverythingBelowGoes) {
  EXPECT_EQ(StripQuotedText("The export works now, thanks.\n\nOn Mon, 3 Mar 2025 at 09:41, Ann Lee "
                            "<ann@brightline.example> wrote:\n> Could you try the background export?\n> Ann"),
            "The export works now, thanks.");
}

TEST(StripQuotedText, WrappedAttributionOverTwoLines) {
  EXPECT_EQ(
      StripQuotedText("Still failing.\n\nOn Mon, Mar 3, 2025 at 9:41 AM Ann Lee <\nann@example.com> wrote:\n"
                      "> Try again"),
      "Still failing.");
}

TEST(StripQuotedText, OutlookOriginalMessageAndHeaderBlocks) {
  EXPECT_EQ(
      StripQuotedText("Please cancel.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nOld text"),
      "Please cancel.");
  EXPECT_EQ(
      StripQuotedText("Please cancel.\n\nFrom: Brightline Support <support@brightline.example>\n"
                      "Sent: Monday, March 3, 2025 9:41 AM\nTo: Priya\nSubject: Re: Export\n\nOld text"),
      "Please cancel.");
  EXPECT_EQ(StripQuotedText("Please cancel.\n________________________________\nFrom: Support\nOld text"),
            "Please cancel.");
}

TEST(StripQuotedText, InterleavedAnswersKeepTheAnswers) {
  EXPECT_EQ(
      StripQuotedText("On Monday, Ann wrote:\n> Which browser?\nFirefox 124.\n> Which plan?\nBusiness."),
      "Firefox 124.\nBusiness.");
}

TEST(StripQuotedText, ForwardedMessagesAreContent) {
  const std::string forwarded =
      "See below.\n\n---------- Forwarded message ---------\nFrom: Bank <noreply@bank.example>\n"
      "Date: Mon\nSubject: Chargeback\n\nA chargeback was filed.";
  EXPECT_EQ(StripQuotedText(forwarded), forwarded);
}

TEST(StripQuotedText, ProseIsNotAMarker) {
  const std::string prose =
      "In the ticket from last year the customer explained in great detail what their accountant wrote:\n"
      "the totals differ.";
  EXPECT_EQ(StripQuotedText(prose), prose);
  EXPECT_EQ(StripQuotedText("From: the dashboard, open Reports.\nThen click Export."),
            "From: the dashboard, open Reports.\nThen click Export.");
}

TEST(StripQuotedText, AMessageThatIsOnlyAQuoteBecomesEmpty) {
  EXPECT_EQ(StripQuotedText("On Mon, Ann <a@x.example> wrote:\n> hello"), "");
}

TEST(StripSignature, DashDashSeparator) {
  EXPECT_EQ(StripSignature("Fixed in 4.2.\n-- \nAnn Lee | Support\n+1 555 0100"), "Fixed in 4.2.");
}

TEST(StripSignature, ValedictionAndShortTail) {
  EXPECT_EQ(StripSignature("Hi Priya,\n\nThe fix is live.\n\nBest regards,\nAlex\n\nAlex Smith\n"
                           "Support Engineer, Brightline Support\nalex.smith@brightline.example"),
            "Hi Priya,\n\nThe fix is live.");
  EXPECT_EQ(StripSignature("It still fails on Safari.\n\nThanks,\nPriya\nAcme Corp"),
            "It still fails on Safari.");
}

TEST(StripSignature, MobileFootersAndSocialInitials) {
  EXPECT_EQ(StripSignature("Cancel my order please\n\nSent from my iPhone"), "Cancel my order please");
  EXPECT_EQ(StripSignature("@jo Please DM us your order number. *SR"), "@jo Please DM us your order number.");
  EXPECT_EQ(StripSignature("@jo We're on it ^JK"), "@jo We're on it");
  EXPECT_EQ(StripSignature("@jo Let us know. -Shie 3/3"), "@jo Let us know.");
  EXPECT_EQ(StripSignature("@jo Thanks.^Kartika"), "@jo Thanks.");
  EXPECT_EQ(StripSignature("@jo Happy to help ~ Olivia"), "@jo Happy to help");
  EXPECT_EQ(StripSignature("Upgrade to plan B-2"), "Upgrade to plan B-2");  // no sigil token
}

TEST(StripSignature, NeverEmptiesAMessage) {
  EXPECT_EQ(StripSignature("Thanks!"), "Thanks!");
  EXPECT_EQ(StripSignature("Thank you,\nPriya"), "Thank you,\nPriya");
}

TEST(StripSignature, SentencesAfterAValedictionStay) {
  const std::string text =
      "Thanks,\nthe report now opens, but the totals for March are still missing from it.";
  EXPECT_EQ(StripSignature(text), text);
}

TEST(SameTextIgnoringWhitespace, CollapsesRuns) {
  EXPECT_TRUE(SameTextIgnoringWhitespace("  a  b\n\nc ", "a b c"));
  EXPECT_FALSE(SameTextIgnoringWhitespace("a b", "a  bc"));
  EXPECT_FALSE(SameTextIgnoringWhitespace("ab", "a b"));
}

}  // namespace
}  // namespace deskpipe::transforms
