// Cognito pre sign-up trigger: confirms every new user at once, and marks the
// email address (or phone number) verified when the user gave one, so the app
// can sign in right after SignUp with no confirmation code.
// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-sign-up.html

exports.handler = async (event) => {
  const attributes = (event.request && event.request.userAttributes) || {};
  event.response = event.response || {};
  event.response.autoConfirmUser = true;
  if (attributes.email) {
    event.response.autoVerifyEmail = true;
  }
  if (attributes.phone_number) {
    event.response.autoVerifyPhone = true;
  }
  return event;
};
